/*
 * Jailhouse for Java - x86 inmate library: PM timer, TSC and x2APIC timer
 * (spec 5.4).
 *
 * Both the 24-bit PM timer and the low 32 bits of the TSC wrap quickly, so
 * each CPU extends them in software: every read that sees a smaller value
 * than the last one counts a wrap. A CPU therefore has to read a clock at
 * least once per wrap period (PM timer: ~4.69 s) to keep it monotonic.
 */

#include <inmate.h>

struct clock_ext {
	u64 wraps;
	u32 last;
};

static struct clock_ext pm_timer_state[SMP_MAX_CPUS];
static struct clock_ext tsc_state[SMP_MAX_CPUS];

static unsigned long tsc_freq;
static unsigned long apic_tick_freq;
static bool tsc_deadline;

/* value * mul / div without overflowing for value * mul >= 2^64 */
static u64 scale(u64 value, u64 mul, u64 div)
{
	return (value / div) * mul + (value % div) * mul / div;
}

static u64 extend(struct clock_ext *state, u32 now, u64 wrap)
{
	if (now < state->last)
		state->wraps += wrap;
	state->last = now;
	return state->wraps + now;
}

static struct clock_ext *this_cpu(struct clock_ext *array)
{
	return &array[cpu_id() % SMP_MAX_CPUS];
}

unsigned long long pm_timer_read(void)
{
	u32 ticks = inl(comm_region->pm_timer_address) & 0xffffff;

	return scale(extend(this_cpu(pm_timer_state), ticks, PM_TIMER_OVERFLOW),
		     NS_PER_SEC, PM_TIMER_HZ);
}

void delay_us(unsigned long microsecs)
{
	unsigned long long end = pm_timer_read() + microsecs * NS_PER_USEC;

	while (pm_timer_read() < end)
		cpu_relax();
}

unsigned long tsc_init(void)
{
	tsc_freq = comm_region->tsc_khz * 1000UL;
	return tsc_freq;
}

unsigned long tsc_read_ns(void)
{
	u32 now = (u32)rdtsc();

	if (!tsc_freq)
		tsc_init();
	return scale(extend(this_cpu(tsc_state), now, 1ULL << 32), NS_PER_SEC,
		     tsc_freq);
}

/*
 * Arms LVTT for vector. With TSC-deadline mode the timer counts TSC ticks;
 * otherwise one-shot mode at apic_khz / 16 (the library assumes a
 * divide-by-16 configuration is in place and never writes TDCR).
 * Returns the timer frequency in Hz.
 */
unsigned long apic_timer_init(unsigned int vector)
{
	u32 eax, ebx, ecx, edx;

	cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	tsc_deadline = !!(ecx & X86_FEATURE_ECX_TSC_DEADLINE);

	if (tsc_deadline) {
		apic_tick_freq = tsc_init();
		write_msr(X2APIC_LVTT, vector | APIC_TIMER_TSC_DEADLINE);
	} else {
		apic_tick_freq = comm_region->apic_khz * 1000UL / 16;
		write_msr(X2APIC_LVTT, vector);
	}
	return apic_tick_freq;
}

void apic_timer_set(unsigned long long timeout_ns)
{
	u64 ticks = scale(timeout_ns, apic_tick_freq, NS_PER_SEC);

	if (tsc_deadline)
		write_msr(MSR_IA32_TSC_DEADLINE, rdtsc() + ticks);
	else
		write_msr(X2APIC_TMICT, ticks);
}
