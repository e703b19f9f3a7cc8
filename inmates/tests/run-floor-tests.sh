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
apicdemo=$top/inmates/demos/x86/apic-demo.bin
smpdemo=$top/inmates/demos/x86/smp-demo.bin
pcidemo=$top/inmates/demos/x86/pci-demo.bin
ivshmemdemo=$top/inmates/demos/x86/ivshmem-demo.bin
badpio=$top/inmates/tests/x86/bad-pio.bin
badmmio=$top/inmates/tests/x86/bad-mmio.bin
rowrite=$top/inmates/tests/x86/ro-write.bin
triplefault=$top/inmates/tests/x86/triple-fault.bin
endless=$top/inmates/tests/x86/endless-loop.bin
exitstorm=$top/inmates/tests/x86/exit-storm.bin
ticker=$top/inmates/tests/x86/ticker.bin
pingpong=$top/inmates/tests/x86/ivshmem-pingpong.bin
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

# ---- demos -------------------------------------------------------------

# apic-demo: calibration line(s), at least 3 timer lines (the floor may
# stop the demo in the middle of the last one); then the message
# protocol through kvm-floor --message: RECONFIG_COMPLETED -> UNKNOWN (1),
# first SHUTDOWN_REQUEST -> DENIED (2), second -> no reply, SHUT_DOWN (2);
# cell_state RUNNING_LOCKED (1) until then
timer_re='^Timer fired, jitter: +-?[0-9]+ ns, min: +-?[0-9]+ ns, max: +-?[0-9]+ ns$'
apic_case() {
	local name=$1 protocol=$2
	shift 2
	if [ "$protocol" = yes ]; then
		run "$name" --until "Timer fired" --count 3 --linger 0.3 \
			--message 2 --message 1 --message 1 "$@"
	else
		run "$name" --until "Timer fired" --count 3 --linger 0.3 "$@"
	fi
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif ! head -n1 "$out" | grep -Eq '^Calibrated TSC frequency: [1-9][0-9]*\.[0-9]{3} kHz$'; then
		fail "$name" "no TSC calibration line first"
	elif grep -q '^Calibrated APIC' "$out" &&
	     ! grep -Eq '^Calibrated APIC frequency: [1-9][0-9]* kHz$' "$out"; then
		fail "$name" "malformed APIC calibration line"
	elif [ "$(count_lines "$timer_re")" -lt 3 ] ||
	     grep '^Timer fired' "$out" | head -n -1 | grep -Evq "$timer_re"; then
		fail "$name" "expected at least 3 well-formed 'Timer fired' lines"
	elif [ "$protocol" = yes ] && {
	     ! grep -Fxq 'kvm-floor: message 2: reply 1, cell_state 1' "$err" ||
	     ! grep -Fxq 'kvm-floor: message 1: reply 2, cell_state 1' "$err" ||
	     ! grep -Fxq 'kvm-floor: message 1: reply 0, cell_state 2' "$err" ||
	     [ "$(count_lines '^Rejecting first shutdown request - try again!$')" -ne 1 ] ||
	     [ "$(tail -n1 "$out")" != "Stopped APIC demo" ]; }; then
		fail "$name" "message protocol: UNKNOWN, DENIED, then SHUT_DOWN expected"
	elif [ "$protocol" = no ] && ! grep -q 'cell_state 1$' "$err"; then
		fail "$name" "cell_state RUNNING_LOCKED (1) expected"
	else
		pass "$name ($(grep -E '^Calibrated' "$out" | sed 's/Calibrated //' | paste -sd, -); $(grep -E "$timer_re" "$out" | tail -n1 | sed 's/^Timer fired, //'))"
	fi
}

apic_case apic-demo-A-protocol yes --reset 0 "$apicdemo" 0
apic_case apic-demo-B no --reset 0xffff0 "$apicdemo" 0xf0000

# smp-demo: every line whole and expected; one hello and one IPI per AP.
# The primary is whichever CPU arrived first (not necessarily 0).
smp_demo_case() {
	local name=$1 cpus=$2 others primary
	shift 2
	others=$((cpus - 1))
	run "$name" --cpus "$cpus" --until "Received IPI on" \
		--count "$others" --linger 0.2 "$@"
	primary=$(head -n1 "$out" | sed -n 's/^SMP demo, primary CPU: \([0-9]\)$/\1/p')
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif [ -z "$primary" ] ||
	     [ "$(head -n4 "$out" | paste -sd'|' -)" != \
	       "SMP demo, primary CPU: $primary|Waiting for the rest...||Found $others other CPU(s)" ]; then
		fail "$name" "unexpected start-up lines"
	elif [ "$(count_lines '^ Starting CPU [0-9]+$')" -ne "$others" ] ||
	     [ "$(count_lines '^Hello from CPU [0-9]+!$')" -ne "$others" ] ||
	     [ "$(count_lines "^Received IPI on $primary\$")" -ne "$others" ] ||
	     grep -Eq "^( Starting CPU|Hello from CPU) $primary(!|)\$" "$out"; then
		fail "$name" "expected $others start, hello and IPI lines"
	elif grep -Ev "^(SMP demo, primary CPU: $primary|Waiting for the rest\.\.\.|Found [0-9]+ other CPU\(s\)| Starting CPU [0-9]+|Hello from CPU [0-9]+!|Received IPI on $primary|)\$" "$out" | grep -q .; then
		fail "$name" "garbled console lines"
	else
		pass "$name (primary CPU $primary)"
	fi
}

smp_demo_case smp-demo-A-2cpus 2 --reset 0 "$smpdemo" 0
smp_demo_case smp-demo-B-3cpus 3 --reset 0xffff0 "$smpdemo" 0xf0000

# PCI demos on the floor's empty PCI bus (config reads all ones): the whole
# bus is scanned (65536 functions, 2 exits each), then the "nothing there"
# line must be the only output. pci-demo's console is the second serial
# port 0x2f8 unless con-base says otherwise; the floor's UART sits where
# --uart puts it and any access to the other port is FATAL, so a pass
# also proves the port. ivshmem-demo uses the comm region's 0x3f8.
pci_none_case() {
	local name=$1 line=$2
	shift 2
	run "$name" --until "$line" --linger 0.3 "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif [ "$(paste -sd'|' "$out")" != "$line" ]; then
		fail "$name" "expected exactly '$line'"
	else
		pass "$name ($(grep -Eo 'io [0-9]+' "$err") exits)"
	fi
}

# as the 2016 walkthrough: at 0xf0000, reset vector, no command line
pci_none_case pci-demo-B-walkthrough-0x2f8 "No device found!" \
	--uart 0x2f8 --reset 0xffff0 "$pcidemo" 0xf0000
# as today's upstream README: -s "con-base=0x2f8" -a 0x1000
pci_none_case pci-demo-A-con-base-0x2f8 "No device found!" \
	--uart 0x2f8 --reset 0 --cmdline "con-base=0x2f8" "$pcidemo" 0
# con-base wins over the demo's default
pci_none_case pci-demo-B-con-base-0x3f8 "No device found!" \
	--reset 0xffff0 --cmdline "con-base=0x3f8" --cmdline-addr 0xf1000 \
	"$pcidemo" 0xf0000
pci_none_case ivshmem-demo-A "IVSHMEM: No PCI devices found .. nothing to do." \
	--reset 0 --cmdline "count=2 period=100" "$ivshmemdemo" 0
pci_none_case ivshmem-demo-B "IVSHMEM: No PCI devices found .. nothing to do." \
	--reset 0xffff0 "$ivshmemdemo" 0xf0000
pci_none_case ivshmem-pingpong-B "pingpong: no ivshmem device" \
	--reset 0xffff0 --cmdline "role=ping" --cmdline-addr 0xf1000 \
	"$pingpong" 0xf0000

# The found paths against the floor's device models (--pci): an HD Audio
# controller at 00:1b.0 as in pci-demo.cell, and an ivshmem v2 link where
# the demo is peer 1 of 3 and the floor plays peer 0 (up, state 1, fixed
# section values, rings back vector 1 at every doorbell it gets).

# pci-demo's exact device accesses, in order (--pci-trace): the sequence
# the hypervisor's HDA model has to serve
hda_trace_expected='config read  0x0/2 -> 0x8086
config read  0x2/2 -> 0x293e
config read  0x0/2 -> 0x8086
config read  0x10/4 -> 0xfebd4004
config read  0x14/4 -> 0x00000000
config read  0x6/2 -> 0x0010
config read  0x34/1 -> 0x60
config read  0x60/1 -> 0x05
config read  0x62/2 -> 0x0080
config write 0x64/4 <- 0xfee00000
config write 0x68/4 <- 0x00000000
config write 0x6c/2 <- 0x0020
config write 0x62/2 <- 0x0081
config write 0x4/2 <- 0x0006
mmio   read  0xfebd400e/2 -> 0x0000
mmio   write 0xfebd400e/2 <- 0x0000
mmio   write 0xfebd4008/4 <- 0x00000000
mmio   write 0xfebd4008/4 <- 0x00000001
mmio   write 0xfebd400c/2 <- 0x000f
mmio   write 0xfebd4020/4 <- 0xc0000000
MSI address 0xfee00000 data 0x20
mmio   read  0xfebd400e/2 -> 0x0001
mmio   write 0xfebd400e/2 <- 0x0001'

hda_case() {
	local name=$1
	shift
	run "$name" --pci hda --pci-trace --until "HDA MSI received" \
		--linger 0.5 "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif [ "$(paste -sd'|' "$out")" != "Found 8086:293e at 00:1b.0|HDBAR at 0x00000000febd4000|HDA MSI received (STATESTS: 0001)" ]; then
		fail "$name" "unexpected console lines"
	elif [ "$(sed -n 's/^pci-trace: //p' "$err")" != "$hda_trace_expected" ]; then
		fail "$name" "device accesses differ from the documented sequence"
	else
		pass "$name"
	fi
}

hda_case pci-demo-B-walkthrough-hda --uart 0x2f8 --reset 0xffff0 \
	"$pcidemo" 0xf0000
hda_case pci-demo-A-hda-con-base-0x3f8 --reset 0 --cmdline "con-base=0x3f8" \
	"$pcidemo" 0

# ivshmem_dump RW1 IN2000: the demo's dump with our peer ID 1 (state 2)
ivshmem_dump() {
	printf '%s\n' "state[0] = 1" "state[1] = 2" "state[2] = 0" \
		"rw[0] = 5" "rw[1] = $1" "rw[2] = 0" \
		"in@0x0000 = 100" "in@0x2000 = $2" "in@0x4000 = 300"
}

# ivshmem_expected VECTOR TARGET DOORBELLS GOT-VECTOR|- SUMMARY-COUNTS
ivshmem_expected() {
	local vector=$1 target=$2 doorbells=$3 got=$4 counts=$5 n
	printf '%s\n' "IVSHMEM: Found device at 01:0e.0" \
		"IVSHMEM: bar0 is at 0x00000000ff000000" \
		"IVSHMEM: bar1 is at 0x00000000ff001000" \
		"IVSHMEM: ID is 1" "IVSHMEM: max. peers is 3" \
		"IVSHMEM: state table is at 0x000000003f0f0000" \
		"IVSHMEM: R/W section is at 0x000000003f0f1000" \
		"IVSHMEM: input sections start at 0x000000003f0fa000" \
		"IVSHMEM: output section is at 0x000000003f0fc000" \
		"IVSHMEM: initialized device"
	ivshmem_dump 0 0
	for n in $(seq 1 "$doorbells"); do
		printf '\n%s\n' "IVSHMEM: sending IRQ $vector to peer $target"
		[ "$got" = - ] && continue
		printf '\n%s\n' "IVSHMEM: got interrupt $got (#$n)"
		# vector 1 (= our ID) is the one published
		if [ "$got" = 1 ]; then
			ivshmem_dump "$n" "$((10 * n))"
		else
			ivshmem_dump 0 0
		fi
	done
	echo "IVSHMEM: done, $doorbells doorbell(s) sent, interrupts per vector: $counts"
}

ivshmem_case() {
	local name=$1 expected=$2
	shift 2
	run "$name" --pci ivshmem --until "IVSHMEM: done" --linger 0.3 "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif ! diff -u <(printf '%s\n' "$expected") "$out" >"$work/$name.diff"; then
		fail "$name" "console differs from the expected: $(cat "$work/$name.diff")"
	else
		pass "$name ($(grep -o 'sent [0-9]* MSI(s)' "$err"))"
	fi
}

# peer 0 rings back vector 1 (= our ID): counted and published
ivshmem_case ivshmem-demo-A-peer0 \
	"$(ivshmem_expected 2 0 3 1 '0 3 0 0')" \
	--reset 0 --cmdline "target=0 count=3 period=100" "$ivshmemdemo" 0
# the default target is ID + 1 = peer 2, absent: nothing comes back
ivshmem_case ivshmem-demo-B-default-target \
	"$(ivshmem_expected 2 2 2 - '0 0 0 0')" \
	--reset 0xffff0 --cmdline "count=2 period=100" --cmdline-addr 0xf1000 \
	"$ivshmemdemo" 0xf0000
# ringing ourselves: vector 2 arrives, not published (vector != ID)
ivshmem_case ivshmem-demo-A-self \
	"$(ivshmem_expected 2 1 2 2 '0 0 2 0')" \
	--reset 0 --cmdline "target=1 count=2 period=50" "$ivshmemdemo" 0

# ivshmem-pingpong as ping against the floor's peer 0, which rings vector
# 1 back at every doorbell: one MSI per round, then the summary and done
pingpong_case() {
	local name=$1 rounds=$2 re
	shift 2
	run "$name" --pci ivshmem --until "pingpong: done" --linger 0.3 "$@"
	re="^pingpong: $rounds rounds, round trip min [0-9]+ avg [0-9]+ max [0-9]+ cycles, [0-9]+ ns avg$"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
	elif [ "$(sed -n 1p "$out")" != "pingpong: peer 1 ready (ping)" ] ||
	     ! sed -n 2p "$out" | grep -Eq "$re" ||
	     [ "$(sed -n '3,$p' "$out")" != "pingpong: done" ] ||
	     ! grep -q "sent $rounds MSI(s)" "$err"; then
		fail "$name" "unexpected console or MSI count"
	else
		pass "$name ($(sed -n 2p "$out" | grep -Eo '[0-9]+ ns avg'))"
	fi
}
pingpong_case ivshmem-pingpong-A-peer0 1000 \
	--reset 0 --cmdline "role=ping target=0" "$pingpong" 0
pingpong_case ivshmem-pingpong-B-peer0 200 \
	--reset 0xffff0 --cmdline "role=ping target=0 rounds=200" \
	--cmdline-addr 0xf1000 "$pingpong" 0xf0000

# ---- hostile test inmates -----------------------------------------------

# expect_fatal NAME ANNOUNCEMENT FATAL-LINE-ERE FLOOR-ARGS...: the inmate
# announces what it does, the floor stops it with the FATAL line, and the
# inmate never reports "survived"
expect_fatal() {
	local name=$1 announce=$2 fatal_re=$3
	shift 3
	run "$name" --timeout 10 "$@"
	if [ "$rc" -ne 1 ]; then
		fail "$name" "kvm-floor exit status $rc, expected 1 (FATAL)"
	elif ! grep -Fxq "$announce" "$out"; then
		fail "$name" "no announcement '$announce'"
	elif ! grep -Eq "$fatal_re" "$err"; then
		fail "$name" "no FATAL line matching '$fatal_re'"
	elif grep -q 'survived' "$out"; then
		fail "$name" "inmate survived"
	else
		pass "$name ($(grep -E '^FATAL' "$err" | head -n1))"
	fi
}

expect_fatal bad-pio-A "bad-pio: writing port 0x1234" \
	'^FATAL: Invalid PIO write, port: 1234 size: 1$' \
	--reset 0 "$badpio" 0
expect_fatal bad-pio-B-port-0x3e8 "bad-pio: writing port 0x3e8" \
	'^FATAL: Invalid PIO write, port: 3e8 size: 1$' \
	--reset 0xffff0 --cmdline "port=0x3e8" --cmdline-addr 0xf1000 \
	"$badpio" 0xf0000
expect_fatal bad-mmio-read "bad-mmio: reading 0x0000000010000000" \
	'^FATAL: Invalid MMIO/RAM read, addr: 0x0000000010000000 size: 4$' \
	--reset 0 "$badmmio" 0
expect_fatal bad-mmio-write-B "bad-mmio: writing 0xdeadbeef to 0x0000000123456000" \
	'^FATAL: Invalid MMIO/RAM write, addr: 0x0000000123456000 size: 4$' \
	--reset 0xffff0 --cmdline "write=1 addr=0x123456000" \
	--cmdline-addr 0xf1000 "$badmmio" 0xf0000
expect_fatal ro-write "ro-write: writing 0x0badc0de to 0x0000000000200000" \
	'^FATAL: Invalid MMIO/RAM write, addr: 0x0000000000200000 size: 4$' \
	--ro-mem 0x200000 --reset 0 "$rowrite" 0
if [ "$rc" -eq 1 ] && ! grep -Fxq "ro-write: read 0xfeedf00d" "$out"; then
	passed=$((passed - 1))
	fail ro-write "the read before the write did not return 0xfeedf00d"
fi
# ud2 through an empty IDT: a triple fault everywhere
expect_fatal triple-fault-ud2 \
	"triple-fault: loading an empty IDT and executing ud2" \
	'^FATAL: Unhandled VM-Exit, reason 2 \(triple fault\)$' \
	--reset 0 --cmdline "insn=ud2" "$triplefault" 0
# int3 (the default): a triple fault on hardware KVM; KVM hosts that emulate
# ring-0 code may report an emulation failure of the int3 (cc) instead
expect_fatal triple-fault-int3-B \
	"triple-fault: loading an empty IDT and executing int3" \
	'^FATAL: Unhandled VM-Exit, reason 2 \(triple fault\)$|^FATAL: KVM internal error, suberror 1,' \
	--reset 0xffff0 "$triplefault" 0xf0000

# the "survived" path works: port 0x80 is always ignored
name=bad-pio-survives-port-0x80
run "$name" --until "bad-pio: survived" --timeout 10 \
	--cmdline "port=0x80" "$badpio" 0
if [ "$rc" -ne 0 ]; then
	fail "$name" "kvm-floor exit status $rc"
else
	pass "$name"
fi

# endless-loop: announces, then spins without exits (no FATAL, no output)
name=endless-loop
run "$name" --until "endless-loop: spinning with interrupts off" \
	--linger 0.5 --timeout 10 "$endless" 0
if [ "$rc" -ne 0 ] || [ "$(wc -l <"$out")" -ne 1 ]; then
	fail "$name" "kvm-floor exit status $rc or unexpected output"
else
	pass "$name"
fi

# exit-storm: the counter every 20000 port 0x80 writes
name=exit-storm
run "$name" --until "exit-storm: 60000 exits" --timeout 20 --reset 0xffff0 \
	"$exitstorm" 0xf0000
if [ "$rc" -ne 0 ]; then
	fail "$name" "kvm-floor exit status $rc"
elif [ "$(paste -sd'|' "$out")" != "exit-storm: writing port 0x80 in a loop|exit-storm: 20000 exits|exit-storm: 40000 exits|exit-storm: 60000 exits" ]; then
	fail "$name" "unexpected console lines"
else
	pass "$name ($(grep -Eo 'io [0-9]+' "$err") exits, $(grep -Eo '[0-9]+ ns/exit' "$err") host)"
fi

# ticker: ticks 1..N, due every period of PM-timer time; the TSC stamps of
# consecutive ticks must lie between 0.5 and 2 periods apart
ticker_case() {
	local name=$1 period=$2 ticks=$3 gaps
	shift 3
	run "$name" --until "ticker: done" --timeout 20 \
		--cmdline "period=$period ticks=$ticks" "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "kvm-floor exit status $rc"
		return
	fi
	gaps=$(awk -v n="$ticks" -v p="$period" '
		$1 == "tick" { if ($2 != ++seen || $5 != "ns") bad = 1
			       if (seen > 1) { g = ($4 - last) / 1e6
					       if (g < p / 2 || g > 2 * p) bad = 1
					       if (g > max) max = g
					       if (min == "" || g < min) min = g }
			       last = $4 }
		END { if (bad || seen != n) print "bad"
		      else printf "%.1f..%.1f ms", min, max }' "$out")
	if [ "$(head -n1 "$out")" != "ticker: a tick every $period ms" ] ||
	   [ "$gaps" = bad ]; then
		fail "$name" "expected ticks 1..$ticks about $period ms apart"
	else
		pass "$name (gaps $gaps)"
	fi
}

ticker_case ticker-A-50ms 50 6 --reset 0 "$ticker" 0
ticker_case ticker-B-100ms 100 3 --reset 0xffff0 "$ticker" 0xf0000

# a preview of the isolation tests: the ticker keeps its period while a
# hostile inmate runs in another VM (its own kvm-floor, killed afterwards)
for hostile in endless-loop exit-storm; do
	"$floor" --timeout 10 "$top/inmates/tests/x86/$hostile.bin" 0 \
		>"$work/$hostile-beside.out" 2>&1 &
	bg=$!
	sleep 0.2
	ticker_case "ticker-beside-$hostile" 100 8 --reset 0 "$ticker" 0
	kill "$bg" 2>/dev/null
	wait "$bg" 2>/dev/null
done

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
