/*
 * Jailhouse for Java - apic-demo (spec 5.5, walkthrough steps 4-7).
 *
 * Locks the hypervisor's configuration (cell_state RUNNING_LOCKED), then
 * programs the APIC timer on vector 32: first expiry after 1 ms, then every
 * 100 ms. Each interrupt prints how late it came (TSC time at handler entry
 * minus the expected expiry) and the extremes so far.
 *
 * It also demonstrates the cell side of the message protocol (spec 2): the
 * first shutdown request is denied, the second one is accepted by setting
 * cell_state SHUT_DOWN (which the hypervisor takes as approval) and halting.
 * Any other message is answered UNKNOWN.
 *
 * The main loop waits with interrupts off except inside "sti; hlt", so the
 * timer handler never runs in the middle of a main-loop printk; messages are
 * therefore noticed on the next timer interrupt (within 100 ms).
 */

#include <inmate.h>

#define APIC_TIMER_VECTOR	32
#define PERIOD_NS		(100 * NS_PER_MSEC)
#define FIRST_EXPIRY_NS		NS_PER_MSEC
#define CALIBRATION_NS		(100 * NS_PER_MSEC)
#define APIC_LVT_MASKED		(1 << 16)

static unsigned long long expected_time;
static long min_jitter = 0x7fffffffffffffffL;
static long max_jitter = -0x7fffffffffffffffL - 1;

static bool tsc_deadline_mode(void)
{
	u32 eax, ebx, ecx, edx;

	cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	return !!(ecx & X86_FEATURE_ECX_TSC_DEADLINE);
}

/* TSC ticks per second, measured against the PM timer. */
static unsigned long calibrate_tsc(void)
{
	unsigned long long pm_start, pm_end;
	u64 tsc_start, tsc_end;

	pm_start = pm_timer_read();
	tsc_start = rdtsc();
	do {
		pm_end = pm_timer_read();
		tsc_end = rdtsc();
	} while (pm_end - pm_start < CALIBRATION_NS);

	return (tsc_end - tsc_start) * NS_PER_SEC / (pm_end - pm_start);
}

/*
 * APIC timer ticks per second (one-shot mode, masked, whatever divider is
 * configured), measured against the PM timer. Only needed without
 * TSC-deadline mode.
 */
static unsigned long calibrate_apic_timer(void)
{
	unsigned long long pm_start, pm_end;
	u32 count_start, count_end;

	write_msr(X2APIC_LVTT, APIC_TIMER_VECTOR | APIC_LVT_MASKED);
	write_msr(X2APIC_TMICT, 0xffffffff);
	pm_start = pm_timer_read();
	count_start = read_msr(X2APIC_TMCCT);
	do {
		pm_end = pm_timer_read();
	} while (pm_end - pm_start < CALIBRATION_NS);
	count_end = read_msr(X2APIC_TMCCT);
	write_msr(X2APIC_TMICT, 0);

	return (u64)(count_start - count_end) * NS_PER_SEC /
		(pm_end - pm_start);
}

static void irq_handler(unsigned int vector)
{
	unsigned long long now;
	long jitter;

	if (vector != APIC_TIMER_VECTOR)
		return;

	jitter = (long)(tsc_read_ns() - expected_time);
	if (jitter < min_jitter)
		min_jitter = jitter;
	if (jitter > max_jitter)
		max_jitter = jitter;
	printk("Timer fired, jitter: %6ld ns, min: %6ld ns, max: %6ld ns\n",
	       jitter, min_jitter, max_jitter);

	expected_time += PERIOD_NS;
	now = tsc_read_ns();
	/* late by more than a period: fire at once (1 us), catch up */
	apic_timer_set(expected_time > now + NS_PER_USEC ?
		       expected_time - now : NS_PER_USEC);
}

void inmate_main(void)
{
	bool shutdown_requested = false;
	unsigned long freq;
	u32 msg;

	comm_region->cell_state = JAILHOUSE_CELL_RUNNING_LOCKED;

	freq = calibrate_tsc();
	printk("Calibrated TSC frequency: %lu.%03lu kHz\n", freq / 1000,
	       freq % 1000);
	if (!tsc_deadline_mode()) {
		freq = calibrate_apic_timer();
		printk("Calibrated APIC frequency: %lu kHz\n", freq / 1000);
	}

	irq_init(irq_handler);
	apic_timer_init(APIC_TIMER_VECTOR);
	expected_time = tsc_read_ns() + FIRST_EXPIRY_NS;
	apic_timer_set(FIRST_EXPIRY_NS);

	/* interrupts are off here and everywhere in the loop but in hlt */
	for (;;) {
		msg = comm_region->msg_to_cell;
		if (msg == JAILHOUSE_MSG_SHUTDOWN_REQUEST) {
			if (shutdown_requested)
				break;
			shutdown_requested = true;
			printk("Rejecting first shutdown request - "
			       "try again!\n");
			jailhouse_send_reply_from_cell(comm_region,
					JAILHOUSE_MSG_REQUEST_DENIED);
		} else if (msg != JAILHOUSE_MSG_NONE) {
			jailhouse_send_reply_from_cell(comm_region,
					JAILHOUSE_MSG_UNKNOWN);
		}
		asm volatile("sti; hlt; cli" : : : "memory");
	}

	write_msr(X2APIC_LVTT, APIC_TIMER_VECTOR | APIC_LVT_MASKED);
	printk("Stopped APIC demo\n");
	/* no APPROVED reply: the state change is the approval (spec 2) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	comm_region->cell_state = JAILHOUSE_CELL_SHUT_DOWN;
	stop();
}
