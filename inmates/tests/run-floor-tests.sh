#!/usr/bin/env bash
# Builds the x86 inmates and kvm-floor, then runs the inmates under both
# boot contracts of spec 5.6 and checks their console output:
#   A: image loaded at 0, CPU reset address 0 (today's upstream)
#   B: image loaded at 0xf0000, CPU at the reset vector 0xffff0 (2016 seed)
#
# Exit status: 0 all passed (or skipped: no usable /dev/kvm), 1 a case
# failed, 2 the build failed. Guest ring-0 code may be emulated (slow):
# every case has a generous timeout.
set -uo pipefail

top=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
floor=$top/bench/floor/kvm-floor
tiny=$top/inmates/demos/x86/tiny-demo.bin
pio=$top/inmates/tests/x86/pio-loop.bin
libtest=$top/inmates/tests/x86/lib-test.bin
smp=$top/inmates/tests/x86/smp-test.bin
timeout=60

if ! make -s -C "$top/inmates" >/dev/null || ! make -s -C "$top/bench/floor" >/dev/null; then
	echo "run-floor-tests: build failed" >&2
	exit 2
fi

if [ ! -c /dev/kvm ] || ! { exec 3<>/dev/kvm; } 2>/dev/null; then
	echo "########################################################" >&2
	echo "## run-floor-tests: SKIPPED - /dev/kvm is missing or   ##" >&2
	echo "## not accessible; the inmates were built, not run.    ##" >&2
	echo "########################################################" >&2
	exit 0
fi
exec 3>&-

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
out=
err=
rc=

# run NAME FLOOR-ARGS... : runs kvm-floor, leaves $out/$err files and $rc
run() {
	local name=$1
	shift
	out=$work/$name.out
	err=$work/$name.err
	"$floor" --timeout "$timeout" "$@" >"$out.raw" 2>"$err"
	rc=$?
	tr -d '\r' <"$out.raw" >"$out"
}

fail() {
	echo "FAIL $1: $2"
	echo "---- console ----"
	cat "$out"
	echo "---- kvm-floor ----"
	cat "$err"
	echo "-----------------"
	failed=$((failed + 1))
}

pass() {
	echo "ok   $1"
	passed=$((passed + 1))
}

# count_lines PATTERN: number of console lines matching PATTERN (ERE)
count_lines() {
	grep -Ec "$1" "$out"
}

# tiny-demo: the greeting, then exactly LOOPS timer lines. --linger keeps
# the guest running 1.5 s after the last expected line (the demo prints
# once per second) to catch a wrong loop count.
tiny_case() {
	local name=$1 loops=$2
	shift 2
	run "$name" --until "PM Timer" --count "$loops" --linger 1.5 "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif [ "$(head -n1 "$out")" != "Hello from this tiny cell!" ]; then
		fail "$name" "no greeting"
	elif [ "$(count_lines '^PM Timer: +[0-9]+$')" -ne "$loops" ] ||
	     [ "$(count_lines '^PM Timer:')" -ne "$loops" ]; then
		fail "$name" "expected $loops 'PM Timer' lines"
	else
		pass "$name"
	fi
}

tiny_case tiny-A-cmdline-0x1000 2 --reset 0 \
	--cmdline "loops=2" --cmdline-addr 0x1000 "$tiny" 0
tiny_case tiny-B-cmdline-0xf1000 2 --reset 0xffff0 \
	--cmdline "loops=2" --cmdline-addr 0xf1000 "$tiny" 0xf0000
tiny_case tiny-B-cmdline-0x1000 2 --reset 0xffff0 \
	--cmdline "loops=2" --cmdline-addr 0x1000 "$tiny" 0xf0000
# both: the image's own buffer (0xf1000) wins over 0x1000
tiny_case tiny-B-cmdline-both 2 --reset 0xffff0 \
	--cmdline "loops=3" --cmdline-addr 0x1000 \
	--cmdline "loops=2" --cmdline-addr 0xf1000 "$tiny" 0xf0000

pio_case() {
	local name=$1
	shift
	run "$name" --until "pio-loop done" "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif ! grep -Eq '^pio-loop: 20000 exits, [0-9]+ cycles/exit, [0-9]+\.[0-9] us/exit$' "$out"; then
		fail "$name" "no result line for 20000 exits"
	else
		pass "$name ($(grep -Eo '[0-9]+ cycles/exit, [0-9.]+ us/exit' "$out"); $(grep -Eo '[0-9]+ ns/exit' "$err") host)"
	fi
}

pio_case pio-loop-A --reset 0 --cmdline "loops=20000" "$pio" 0
pio_case pio-loop-B --reset 0xffff0 \
	--cmdline "loops=20000" --cmdline-addr 0xf1000 "$pio" 0xf0000
# console through the virtual console (hypercall port) only
pio_case pio-loop-virtual-console --virtual-console --reset 0 \
	--cmdline "con-type=none loops=20000" "$pio" 0

libtest_cmdline="int1=0x1F int2=-17 int3=12abc bool1 bool2=false bool3=TRUE bool4=maybe str1=hello loopsX=7"
printk_expected='printk: [-42] [   42] [-0042] [4294967295] [deadbeef] [0000beef] [123456789abcdef0] [18446744073709551615] [-9223372036854775808] [0x0000000000001234] [abc] [   abc] [Z] [%] [12345]'

libtest_case() {
	local name=$1
	shift
	run "$name" --until "FATAL: Unhandled exception 6," "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc (no exception report?)"
	elif ! grep -Fxq "$printk_expected" "$out"; then
		fail "$name" "printk formatting differs"
	elif ! grep -Eq '^lib-test: [0-9]+ checks, 0 failed$' "$out" ||
	     grep -q '^FAIL' "$out"; then
		fail "$name" "self-checks failed"
	else
		pass "$name"
	fi
}

libtest_case lib-test-A --reset 0 \
	--cmdline "$libtest_cmdline fault=ud" "$libtest" 0
libtest_case lib-test-B --reset 0xffff0 \
	--cmdline "$libtest_cmdline fault=ud" --cmdline-addr 0xf1000 \
	"$libtest" 0xf0000

# SMP: all CPUs start together (under B all of them run the copy stub at
# once); the first to arrive restarts the others with INIT/SIPI
smp_case() {
	local name=$1
	shift
	run "$name" --cpus 3 --until "smp-test done" "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif ! grep -Fxq "smp-test: 3 CPU(s), 2 IPI(s)" "$out" ||
	     [ "$(count_lines '^Hello from CPU [0-9]+!$')" -ne 2 ] ||
	     [ "$(count_lines '^Received IPI on [0-9]+$')" -ne 2 ]; then
		fail "$name" "expected 2 secondary CPUs and 2 IPIs"
	else
		pass "$name"
	fi
}

smp_case smp-A --reset 0 "$smp" 0
smp_case smp-B --reset 0xffff0 "$smp" 0xf0000

# comm region of another ABI revision: the inmate must set cell_state 4
# (FAILED_COMM_REV), print nothing and halt
name=comm-revision-mismatch
run "$name" --comm-revision 1 --timeout 3 "$tiny" 0
if [ "$rc" -ne 1 ] || [ -s "$out" ] || ! grep -q 'cell_state 4$' "$err"; then
	fail "$name" "expected silence and cell_state 4"
else
	pass "$name"
fi

# every image is exactly 64 KiB
name=image-size
out=/dev/null
err=/dev/null
bad=
for bin in "$top"/inmates/demos/x86/*.bin "$top"/inmates/tests/x86/*.bin; do
	[ "$(stat -c %s "$bin")" -eq 65536 ] || bad="$bad $bin"
done
if [ -n "$bad" ]; then
	fail "$name" "not 64 KiB:$bad"
else
	pass "$name"
fi

echo "run-floor-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
