/*
 * cli-floor: the least a client can do for "jailhouse cell list": connect
 * to the control socket, send the request, read the reply, print it. The
 * floor `bench/run cli` measures the jailhouse command against.
 *   cli-floor SOCKET
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const char request[] = "\0{\"version\":2,\"op\":\"cell.list\"}";
	static char reply[32 * 1024];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	ssize_t n;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: cli-floor SOCKET\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("connect");
		return 1;
	}
	/* framing byte 0: the JSON follows in the packet itself */
	if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) < 0) {
		perror("send");
		return 1;
	}
	n = recv(fd, reply, sizeof(reply) - 1, 0);
	if (n <= 1 || reply[0] != 0) {
		fprintf(stderr, "no inline reply\n");
		return 1;
	}
	reply[n] = '\0';
	puts(reply + 1);
	close(fd);
	return 0;
}
