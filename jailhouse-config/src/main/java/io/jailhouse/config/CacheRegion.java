package io.jailhouse.config;

/**
 * {@code struct jailhouse_cache} (12 bytes): a cache partition (x86 CAT: first
 * bit and bit count of the L3 capacity bitmask).
 */
public record CacheRegion(long start, long size, int type, int padding, int flags) {
    public static final int BYTES = 12;

    public static final int L3_CODE = 1;
    public static final int L3_DATA = 2;
    public static final int L3 = 3;
    public static final int ROOTSHARED = 1;

    public static final String[] TYPE_NAMES = {null, "l3-code", "l3-data", "l3"};
    public static final FlagNames FLAG_NAMES = FlagNames.of("cache", "rootshared", ROOTSHARED);

    public static String typeName(int type) {
        return type > 0 && type < TYPE_NAMES.length ? TYPE_NAMES[type] : Integer.toString(type);
    }
}
