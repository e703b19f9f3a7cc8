package io.jailhouse.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Overlapping pairs among address ranges, found by one sweep in start order:
 * O(n log n) to count them, plus the pairs handed out, however many overlap.
 * A config of thousands of copies of one region has millions of
 * overlapping pairs; a check counts them all and reports a bounded number.
 * Addresses are unsigned 64-bit; empty ranges overlap nothing.
 */
final class RangeOverlaps {
    /** Receives one overlapping pair: the earlier-starting range first. */
    interface Pair {
        void accept(int first, int second);
    }

    private RangeOverlaps() {
    }

    /** The last byte of [start, start+size), saturated at 2^64-1. */
    static long last(long start, long size) {
        long l = start + size - 1;
        return Long.compareUnsigned(l, start) < 0 ? -1L : l;
    }

    /**
     * Counts the overlapping pairs among ranges {@code i} ({@code start[i]},
     * {@code size[i]}) and hands at most {@code limit} of them to {@code out}.
     *
     * @return every overlapping pair's count
     */
    static long find(long[] start, long[] size, int limit, Pair out) {
        return find(start, size, new int[start.length], false, limit, out);
    }

    /**
     * As {@link #find(long[], long[], int, Pair)} for pairs of ranges of
     * different groups only ({@code group[i]}), and, where {@code shared} is
     * set, not pairs whose ranges are both shared (negative group: shared
     * range of group {@code -group - 1}).
     */
    static long findBetweenGroups(long[] start, long[] size, int[] group, int limit, Pair out) {
        return find(start, size, group, true, limit, out);
    }

    private static long find(long[] start, long[] size, int[] group, boolean betweenGroups, int limit, Pair out) {
        int n = start.length;
        Integer[] order = IntStream.range(0, n).filter(i -> size[i] != 0).boxed().toArray(Integer[]::new);
        java.util.Arrays.sort(order, (a, b) -> Long.compareUnsigned(start[a], start[b]));
        PriorityQueue<Integer> byLast = new PriorityQueue<>(
                Comparator.comparing((Integer i) -> last(start[i], size[i]), Long::compareUnsigned));
        // the active ranges by (group, shared): who a new range overlaps, counted without looking at each
        java.util.Map<Long, Set<Integer>> active = new java.util.HashMap<>();
        long sharedActive = 0;
        long plainActive = 0;
        java.util.Map<Integer, long[]> perGroup = new java.util.HashMap<>(); // group -> {shared, plain}
        long pairs = 0;
        int handed = 0;
        for (int k : order) {
            while (!byLast.isEmpty() && Long.compareUnsigned(last(start[byLast.peek()], size[byLast.peek()]),
                    start[k]) < 0) {
                int gone = byLast.poll();
                active.get(key(group[gone])).remove(gone);
                long[] c = perGroup.get(groupOf(group[gone]));
                if (isShared(group[gone])) {
                    sharedActive--;
                    c[0]--;
                } else {
                    plainActive--;
                    c[1]--;
                }
            }
            long[] own = perGroup.computeIfAbsent(groupOf(group[k]), g -> new long[2]);
            boolean kShared = isShared(group[k]);
            long count;
            if (!betweenGroups) {
                count = sharedActive + plainActive;
            } else {
                count = (plainActive - own[1]) + (kShared ? 0 : sharedActive - own[0]);
            }
            pairs += count;
            if (handed < limit && count > 0) {
                for (java.util.Map.Entry<Long, Set<Integer>> e : active.entrySet()) {
                    int g = (int) (e.getKey() >> 1);
                    boolean s = (e.getKey() & 1) != 0;
                    if (betweenGroups && (g == groupOf(group[k]) || (s && kShared))) {
                        continue;
                    }
                    for (int a : e.getValue()) {
                        if (handed == limit) {
                            break;
                        }
                        out.accept(a, k);
                        handed++;
                    }
                }
            }
            active.computeIfAbsent(key(group[k]), x -> new LinkedHashSet<>()).add(k);
            byLast.add(k);
            if (kShared) {
                sharedActive++;
                own[0]++;
            } else {
                plainActive++;
                own[1]++;
            }
        }
        return pairs;
    }

    private static boolean isShared(int group) {
        return group < 0;
    }

    private static int groupOf(int group) {
        return group < 0 ? -group - 1 : group;
    }

    private static long key(int group) {
        return ((long) groupOf(group) << 1) | (isShared(group) ? 1 : 0);
    }

    /** The pairs, sorted by first then second index (for reports in a stable order). */
    static List<int[]> sorted(List<int[]> pairs) {
        List<int[]> s = new ArrayList<>(pairs);
        s.sort(Comparator.<int[]>comparingInt(p -> p[0]).thenComparingInt(p -> p[1]));
        return s;
    }
}
