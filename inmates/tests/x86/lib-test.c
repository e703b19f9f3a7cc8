/*
 * Jailhouse for Java - lib-test: exercises the inmate library on a real
 * (virtual) CPU. Self-checks print "FAIL: ..." lines and a final count;
 * printk formatting is printed for the test script to compare.
 *
 * Command line expected by the checks (run-floor-tests.sh passes it):
 *   int1=0x1F int2=-17 int3=12abc bool1 bool2=false bool3=TRUE bool4=maybe
 *   str1=hello loopsX=7
 * Optional: fault=ud  ends with an invalid opcode (tests exception report).
 */

#include <inmate.h>

static unsigned int checks, failures;
static volatile unsigned int irq_count, last_vector;
static volatile unsigned long long irq_tsc_ns;

#define CHECK(cond) check(cond, #cond, __LINE__)

static void check(bool ok, const char *what, int line)
{
	checks++;
	if (!ok) {
		failures++;
		printk("FAIL: line %d: %s\n", line, what);
	}
}

static void irq_handler(unsigned int vector)
{
	last_vector = vector;
	irq_tsc_ns = tsc_read_ns();
	irq_count++;
}

static bool wait_for_irqs(unsigned int count, unsigned long long timeout_ns)
{
	unsigned long long start = pm_timer_read();

	while (irq_count < count) {
		if (pm_timer_read() - start > timeout_ns)
			return false;
		cpu_relax();
	}
	return true;
}

static void test_printk(void)
{
	printk("printk: [%d] [%5d] [%05d] [%u] [%x] [%08x] [%lx] [%llu] "
	       "[%lld] [%p] [%s] [%6s] [%c] [%%] [%3u]\n",
	       -42, 42, -42, 4294967295U, 0xdeadbeefU, 0xbeefU,
	       0x123456789abcdef0UL, 18446744073709551615ULL,
	       -9223372036854775807LL - 1, (void *)0x1234, "abc", "abc", 'Z',
	       12345U);
}

static void test_cmdline(void)
{
	char buf[32];
	const char *s;

	CHECK(cmdline_parse_int("int1", 0) == 31);
	CHECK(cmdline_parse_int("int2", 0) == -17);
	CHECK(cmdline_parse_int("int3", 5) == 5);	/* invalid -> default */
	CHECK(cmdline_parse_int("missing", 77) == 77);
	/* prefix match: "loops" hits "loopsX=7" with an empty value */
	CHECK(cmdline_parse_int("loops", 3) == 3);
	CHECK(cmdline_parse_bool("bool1", false) == true);
	CHECK(cmdline_parse_bool("bool2", true) == false);
	CHECK(cmdline_parse_bool("bool3", false) == true);
	CHECK(cmdline_parse_bool("bool4", true) == true);
	CHECK(cmdline_parse_bool("bool4", false) == false);
	s = cmdline_parse_str("str1", buf, sizeof(buf), "dflt");
	CHECK(s == buf && strcmp(s, "hello") == 0);
	s = cmdline_parse_str("str2", buf, sizeof(buf), "dflt");
	CHECK(strcmp(s, "dflt") == 0);
	s = cmdline_parse_str("str1", buf, 4, NULL);
	CHECK(s && strcmp(s, "hel") == 0);		/* truncated */
}

static void test_strings(void)
{
	char buf[16] = "abcdefgh";

	CHECK(strlen(buf) == 8);
	CHECK(strncmp("abc", "abd", 2) == 0 && strncmp("abc", "abd", 3) < 0);
	CHECK(strcmp("b", "a") > 0);
	CHECK(strncasecmp("HeLLo", "hello", 5) == 0);
	memmove(buf + 2, buf, 6);
	CHECK(memcmp(buf, "ababcdef", 8) == 0);
	memmove(buf, buf + 2, 6);
	CHECK(memcmp(buf, "abcdefef", 8) == 0);
	memset(buf, 'x', 3);
	CHECK(memcmp(buf, "xxxdefef", 8) == 0);
}

static void test_alloc_and_paging(void)
{
	unsigned long before = heap_pos;
	u8 *p = alloc(10, 64);
	u8 *z = zalloc(PAGE_SIZE, PAGE_SIZE);
	u64 *pdpt, *pd;
	u64 pde;

	CHECK(before >= (unsigned long)stack_top);
	CHECK(((unsigned long)p & 63) == 0 && (unsigned long)p >= before);
	CHECK(((unsigned long)z & (PAGE_SIZE - 1)) == 0 && z[0] == 0 &&
	      z[PAGE_SIZE - 1] == 0);

	/* page table entry only; nothing is mapped there in this VM */
	map_range((void *)0xfec00000, PAGE_SIZE, MAP_UNCACHED);
	pdpt = (u64 *)(unsigned long)(pml4[0] & PAGE_ADDR_MASK);
	pd = (u64 *)(unsigned long)(pdpt[3] & PAGE_ADDR_MASK);
	pde = pdpt[3] & PAGE_FLAG_PRESENT ? pd[(0xfec00000 >> 21) & 0x1ff] : 0;
	CHECK(pde == (0xfec00000 | PAGE_FLAG_PRESENT | PAGE_FLAG_RW |
		      PAGE_FLAG_PS | PAGE_FLAG_PCD));
}

static void test_cpu(void)
{
	CHECK(smp_num_cpus == comm_region->num_cpus);
	CHECK(smp_cpu_ids[0] == cpu_id());
	CHECK(comm_region->cell_state == JAILHOUSE_CELL_RUNNING);
	CHECK((read_cr4() & X86_CR4_OSFXSR) != 0);
}

static void test_timing(void)
{
	unsigned long long pm0, pm1, t0, t1;

	CHECK(tsc_init() == comm_region->tsc_khz * 1000UL);
	pm0 = pm_timer_read();
	t0 = tsc_read_ns();
	delay_us(20000);
	t1 = tsc_read_ns();
	pm1 = pm_timer_read();
	CHECK(pm1 - pm0 >= 20000 * NS_PER_USEC);
	/* TSC and PM timer agree within 10 % (+ 2 ms of read latency) */
	CHECK(t1 - t0 + 2 * NS_PER_MSEC >= (pm1 - pm0) * 9 / 10 &&
	      t1 - t0 <= (pm1 - pm0) * 11 / 10 + 2 * NS_PER_MSEC);
	printk("timing: delay_us(20000) took %llu us (PM timer), "
	       "%llu us (TSC)\n", (pm1 - pm0) / 1000, (t1 - t0) / 1000);
}

static void test_interrupts(void)
{
	unsigned long long set_ns, freq;

	irq_init(irq_handler);
	enable_irqs();

	/* self-IPI */
	irq_send_ipi(cpu_id(), 40);
	CHECK(wait_for_irqs(1, 100 * NS_PER_MSEC));
	CHECK(last_vector == 40);

	/* APIC timer, 5 ms */
	freq = apic_timer_init(32);
	set_ns = tsc_read_ns();
	apic_timer_set(5 * NS_PER_MSEC);
	CHECK(wait_for_irqs(2, NS_PER_SEC));
	CHECK(last_vector == 32);
	CHECK(irq_tsc_ns - set_ns >= 5 * NS_PER_MSEC);
	printk("timer: %s mode, %llu Hz, fired after %llu us\n",
	       freq == tsc_init() ? "TSC-deadline" : "one-shot", freq,
	       (irq_tsc_ns - set_ns) / 1000);
	disable_irqs();
}

void inmate_main(void)
{
	char fault[8];

	printk("lib-test: starting on CPU %u\n", cpu_id());

	test_printk();
	test_cmdline();
	test_strings();
	test_alloc_and_paging();
	test_cpu();
	test_timing();
	test_interrupts();

	printk("lib-test: %u checks, %u failed\n", checks, failures);
	printk("lib-test done\n");

	if (strcmp(cmdline_parse_str("fault", fault, sizeof(fault), ""),
		   "ud") == 0)
		asm volatile("ud2");
}
