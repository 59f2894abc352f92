/* vessel-agent: /init of a VM-isolated container's guest. Static, no
 * shell needed: it mounts the kernel file systems, loads the modules the
 * initramfs carries, connects to the host (vsock CID 2, port
 * VS_PROTO_PORT), runs the one container the host sends and powers off. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "agent/agent.h"

void vs_agent_send_error(int conn, const vs_err *err)
{
	char buf[4 + VS_PROTO_ERRMSG_MAX];
	/* errno and message travel apart: the host adds strerror itself. */
	int code = err->code > 0 && err->code < 4096 ? err->code : err->code == VS_EINVAL_CONFIG ? EINVAL : EIO;
	size_t n = 0;
	for (const char *c = err->msg; *c && n < VS_PROTO_ERRMSG_MAX; c++)
		buf[4 + n++] = *c >= 0x20 && *c <= 0x7e ? *c : '?'; /* the host takes printable text only */
	if (n == 0)
		buf[4 + n++] = '?';
	buf[0] = (char)code, buf[1] = (char)(code >> 8), buf[2] = 0, buf[3] = 0;
	vs_proto_send(conn, VS_MSG_ERROR, buf, (uint32_t)(4 + n), NULL);
}

static void say(const vs_err *err)
{
	char buf[600];
	fprintf(stderr, "vessel-agent: %s\n", vs_err_str(err, buf, sizeof(buf)));
}

int main(void)
{
	vs_err err = {0};
	int conn = -1;
	vs_proto_reader r = {.buf = NULL};
	if (vs_agent_boot(&err) < 0 || (conn = vs_agent_connect(VS_PROTO_PORT, 20000, &err)) < 0 ||
	    vs_proto_send_u32(conn, VS_MSG_HELLO, VS_PROTO_VERSION, 0, 1, &err) < 0 ||
	    vs_proto_reader_init(&r, conn, VS_FROM_HOST, &err) < 0) {
		say(&err);
	} else {
		vs_proto_msg m;
		int got;
		/* The host's copies of bind-mounted files come first. */
		while ((got = vs_proto_recv(&r, &m, -1, 10000, &err)) > 0 && m.type == VS_MSG_FILE)
			if (vs_agent_save_file(&m, &err) < 0) {
				got = -1;
				break;
			}
		if (got > 0 && m.type != VS_MSG_CREATE)
			got = vs_fail(&err, EPROTO, "host sent %s before CREATE", vs_proto_type_name(m.type));
		if (got > 0 && vs_agent_container(conn, &r, &m, &err) < 0)
			got = -1;
		if (got < 0) {
			say(&err);
			vs_agent_send_error(conn, &err);
		}
	}
	vs_proto_reader_free(&r);
	if (getpid() != 1)
		return err.code ? 1 : 0;
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
