/*
 * Jailhouse for Java: /init of the test initramfs for Linux in a cell.
 * Reports to the kernel log (and so to the cell's console) that user space
 * runs, then stays: pid 1 must not end.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static void report(int fd, const char *a, const char *b)
{
	char line[512];
	size_t n = 0;

	for (const char *s = "jailhouse-guest: "; *s && n < sizeof(line) - 1; s++)
		line[n++] = *s;
	for (const char *s = a; *s && n < sizeof(line) - 1; s++)
		line[n++] = *s;
	for (const char *s = b; *s && n < sizeof(line) - 1; s++)
		line[n++] = *s;
	line[n++] = '\n';
	if (write(fd, line, n) < 0)
		return;
}

int main(void)
{
	struct utsname u;
	int fd;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0)
		fd = 2;
	report(fd, "/init runs as pid 1", "");
	if (uname(&u) == 0)
		report(fd, "kernel ", u.release);
	for (;;)
		pause();
}
