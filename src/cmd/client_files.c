/* vessel logs NAME, vessel file pull|push: an instance's console log and
 * files through vesseld (GET .../logs/console.log, GET|POST .../files). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/client.h"
#include "cmd/commands.h"
#include "cmd/uclient.h"

static int failed(const char *what, const vs_err *err)
{
	char buf[768];
	fprintf(stderr, "vessel %s: %s\n", what,
		err->code == VS_EINVAL_CONFIG || err->code == ENOENT || err->code == EEXIST ? err->msg
		: vs_err_str(err, buf, sizeof(buf)));
	return 1;
}

/* Write all of buf to path ("-" = stdout). */
static int put_out(const char *path, const char *buf, size_t len, vs_err *err)
{
	int fd = strcmp(path, "-") ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
	if (fd < 0)
		return vs_fail(err, errno, "open %s", path);
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	int e = errno;
	if (fd != 1)
		close(fd);
	return done == len ? 0 : vs_fail(err, e, "write %s", path);
}

VS_CMD(logs)
{
	if (argc != 1 || argv[0][0] == '-') {
		fprintf(argc == 1 ? stdout : stderr, "usage: vessel logs NAME   (the instance's console output)\n");
		return argc == 1 ? 0 : 2;
	}
	vs_err err = {0};
	char path[320], *body = NULL;
	size_t len = 0;
	if (vs_client_inst_path(argv[0], "/logs/console.log", path, sizeof(path), &err) < 0 ||
	    vs_client_get_raw(g, path, &body, &len, &err) < 0 || put_out("-", body, len, &err) < 0) {
		free(body);
		return failed("logs", &err);
	}
	free(body);
	return 0;
}

/* "/1.0/instances/NAME/files?path=ESCAPED" */
static int files_path(const char *name, const char *file, char *buf, size_t len, vs_err *err)
{
	char esc[4096 * 3 + 16], suffix[sizeof(esc) + 32];
	if (vs_uc_escape(file, esc, sizeof(esc), err) < 0)
		return -1;
	snprintf(suffix, sizeof(suffix), "/files?path=%s", esc);
	return vs_client_inst_path(name, suffix, buf, len, err);
}

static int usage(FILE *f)
{
	fprintf(f, "usage: vessel file pull NAME PATH [DEST|-]\n"
		   "       vessel file push SRC NAME PATH [--mode 0644] [--uid N] [--gid N]\n");
	return f == stdout ? 0 : 2;
}

VS_CMD(file)
{
	if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")))
		return usage(stdout);
	const char *pos[4] = {NULL}, *mode = NULL, *uid = NULL, *gid = NULL;
	int n = 0;
	for (int i = 1; i < argc; i++) {
		const char **v = !strcmp(argv[i], "--mode") ? &mode : !strcmp(argv[i], "--uid") ? &uid
			       : !strcmp(argv[i], "--gid") ? &gid : NULL;
		if (v && i + 1 < argc)
			*v = argv[++i];
		else if ((argv[i][0] == '-' && argv[i][1]) || n == 4)
			return usage(stderr);
		else
			pos[n++] = argv[i];
	}
	vs_err err = {0};
	static char path[16384];
	if (argc >= 1 && !strcmp(argv[0], "pull") && (n == 2 || n == 3) && !mode && !uid && !gid) {
		char *body = NULL;
		size_t len = 0;
		int rc = files_path(pos[0], pos[1], path, sizeof(path), &err) < 0 || vs_client_get_raw(g, path, &body, &len, &err) < 0 ||
			 put_out(n == 3 ? pos[2] : "-", body, len, &err) < 0;
		free(body);
		return rc ? failed("file pull", &err) : 0;
	}
	if (argc >= 1 && !strcmp(argv[0], "push") && n == 3) {
		char hdr[256];
		snprintf(hdr, sizeof(hdr), "X-Incus-type: file%s%s%s%s%s%s", mode ? "\r\nX-Incus-mode: " : "", mode ? mode : "",
			 uid ? "\r\nX-Incus-uid: " : "", uid ? uid : "", gid ? "\r\nX-Incus-gid: " : "", gid ? gid : "");
		if (strpbrk(mode ? mode : "", "\r\n") || strpbrk(uid ? uid : "", "\r\n") || strpbrk(gid ? gid : "", "\r\n"))
			return usage(stderr);
		int fd = open(pos[0], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			vs_fail(&err, errno, "open %s", pos[0]);
			return failed("file push", &err);
		}
		int rc = files_path(pos[1], pos[2], path, sizeof(path), &err) < 0 || vs_client_send(g, "POST", path, fd, hdr, &err) < 0;
		close(fd);
		return rc ? failed("file push", &err) : 0;
	}
	return usage(stderr);
}
