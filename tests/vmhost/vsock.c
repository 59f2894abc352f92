/* Guest-side vsock tool for the microVM test guest (busybox has no vsock
 * nc), linked static into the initramfs by mkinitramfs-guest.
 *
 *   vsock listen PORT     accept one connection on PORT, echo every byte
 *                         back until the peer shuts down, then close;
 *                         prints "echoed N bytes"
 *   vsock send PORT [CID] connect to CID (default 2, the host) port PORT,
 *                         copy stdin to it (then shut down writing) and
 *                         everything it sends back to stdout
 * Exit status 0 on success, 1 with a message on stderr otherwise. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "vsock: %s: %s\n", what, strerror(errno));
	return 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

static int do_listen(unsigned port)
{
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
		return die("listen");
	int c = accept(s, NULL, NULL);
	if (c < 0)
		return die("accept");
	static char buf[65536];
	unsigned long long total = 0;
	for (;;) {
		ssize_t r = read(c, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return die("read");
		if (r == 0)
			break;
		if (write_all(c, buf, (size_t)r) < 0)
			return die("write");
		total += (unsigned long long)r;
	}
	close(c);
	printf("echoed %llu bytes\n", total);
	return 0;
}

static int copy(int from, int to)
{
	static char buf[65536];
	for (;;) {
		ssize_t r = read(from, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : 0;
		if (write_all(to, buf, (size_t)r) < 0)
			return -1;
	}
}

static int do_send(unsigned port, unsigned cid)
{
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return die("connect");
	/* Both directions at once: an echoing peer must not wait on us. */
	pid_t pid = fork();
	if (pid == 0) {
		int r = copy(0, s);
		shutdown(s, SHUT_WR);
		_exit(r < 0);
	}
	if (copy(s, 1) < 0)
		return die("read");
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : (errno = EIO, die("write"));
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "listen"))
		return do_listen((unsigned)strtoul(argv[2], NULL, 10));
	if (argc >= 3 && !strcmp(argv[1], "send"))
		return do_send((unsigned)strtoul(argv[2], NULL, 10), argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 2);
	fprintf(stderr, "usage: vsock listen PORT | vsock send PORT [CID]\n");
	return 2;
}
