/* The host <-> agent wire format and its one validation choke point. */
#include "hybrid/proto.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Who may send each type, and how long its payload may be. */
static const struct {
	const char *name;
	vs_proto_dir from;
	uint32_t min, max;
} types[VS_MSG_TYPE_MAX + 1] = {
	[VS_MSG_HELLO] = {"HELLO", VS_FROM_GUEST, 4, 4},
	[VS_MSG_CREATE] = {"CREATE", VS_FROM_HOST, 1, VS_PROTO_CONFIG_MAX},
	[VS_MSG_READY] = {"READY", VS_FROM_GUEST, 0, 0},
	[VS_MSG_START] = {"START", VS_FROM_HOST, 0, 0},
	[VS_MSG_STDIN] = {"STDIN", VS_FROM_HOST, 0, VS_PROTO_STREAM_MAX},
	[VS_MSG_STDOUT] = {"STDOUT", VS_FROM_GUEST, 1, VS_PROTO_STREAM_MAX},
	[VS_MSG_STDERR] = {"STDERR", VS_FROM_GUEST, 1, VS_PROTO_STREAM_MAX},
	[VS_MSG_SIGNAL] = {"SIGNAL", VS_FROM_HOST, 4, 4},
	[VS_MSG_EXIT] = {"EXIT", VS_FROM_GUEST, 8, 8},
	[VS_MSG_ERROR] = {"ERROR", VS_FROM_GUEST, 5, 4 + VS_PROTO_ERRMSG_MAX},
	[VS_MSG_FILE] = {"FILE", VS_FROM_HOST, 4, 4 + VS_PROTO_FILE_MAX},
	[VS_MSG_EXEC] = {"EXEC", VS_FROM_HOST, 1, VS_PROTO_CONFIG_MAX},
	[VS_MSG_PS] = {"PS", VS_FROM_HOST, 0, 0},
	[VS_MSG_PIDS] = {"PIDS", VS_FROM_GUEST, 0, VS_PROTO_PIDS_MAX},
};

/* PIDS: lines "PID COMM\n", PID a decimal 1..4194304 without leading
 * zeros, COMM 0..64 printable bytes. */
static int check_pids(const char *t, uint32_t n, vs_err *err)
{
	uint32_t i = 0, line = 1;
	while (i < n) {
		uint32_t start = i, pid = 0;
		while (i < n && t[i] >= '0' && t[i] <= '9' && i - start < 8)
			pid = pid * 10 + (uint32_t)(t[i++] - '0');
		if (i == start || t[start] == '0' || pid > 4194304 || i >= n || t[i] != ' ')
			return vs_fail(err, EPROTO, "agent PIDS: line %u: not \"PID COMM\" with a pid 1..4194304", line);
		uint32_t c = ++i;
		while (i < n && t[i] != '\n' && i - c <= 64) {
			if (t[i] < 0x20 || t[i] > 0x7e)
				return vs_fail(err, EPROTO, "agent PIDS: line %u: a non-printable byte 0x%02x", line,
					       (unsigned)(uint8_t)t[i]);
			i++;
		}
		if (i >= n || t[i] != '\n')
			return vs_fail(err, EPROTO, "agent PIDS: line %u: the command is too long or the line unended", line);
		i++, line++;
	}
	return 0;
}

const char *vs_proto_type_name(unsigned type)
{
	return type >= 1 && type <= VS_MSG_TYPE_MAX ? types[type].name : "unknown";
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

int vs_proto_check_header(const uint8_t hdr[VS_PROTO_HDR], vs_proto_dir from, vs_proto_msg *msg, vs_err *err)
{
	const char *who = from == VS_FROM_GUEST ? "agent" : "host";
	uint32_t magic = le32(hdr), len = le32(hdr + 8);
	unsigned version = (unsigned)hdr[4] | (unsigned)hdr[5] << 8, type = (unsigned)hdr[6] | (unsigned)hdr[7] << 8;
	memset(msg, 0, sizeof(*msg));
	if (magic != VS_PROTO_MAGIC)
		return vs_fail(err, EPROTO, "%s message: bad magic 0x%08x (not the vessel agent protocol)", who, magic);
	if (version != VS_PROTO_VERSION)
		return vs_fail(err, EPROTO, "%s message: protocol version %u, this side speaks %u", who, version,
			       VS_PROTO_VERSION);
	if (type < 1 || type > VS_MSG_TYPE_MAX)
		return vs_fail(err, EPROTO, "%s message: unknown type %u", who, type);
	if (types[type].from != from)
		return vs_fail(err, EPROTO, "%s message: %s is not sent by the %s", who, types[type].name, who);
	if (len < types[type].min || len > types[type].max)
		return vs_fail(err, EMSGSIZE, "%s message %s: length %u (allowed %u..%u)", who, types[type].name, len,
			       types[type].min, types[type].max);
	msg->type = (vs_msg_type)type;
	msg->len = len;
	return 0;
}

int vs_proto_check_payload(vs_proto_msg *msg, vs_err *err)
{
	const uint8_t *d = msg->data;
	switch (msg->type) {
	case VS_MSG_HELLO:
		msg->u32[0] = le32(d);
		if (msg->u32[0] != VS_PROTO_VERSION)
			return vs_fail(err, EPROTO, "agent HELLO: protocol version %u, the host speaks %u", msg->u32[0],
				       VS_PROTO_VERSION);
		return 0;
	case VS_MSG_SIGNAL:
		msg->u32[0] = le32(d);
		if (msg->u32[0] < 1 || msg->u32[0] > 64)
			return vs_fail(err, EINVAL, "SIGNAL: signal %u out of range 1..64", msg->u32[0]);
		return 0;
	case VS_MSG_EXIT:
		msg->u32[0] = le32(d), msg->u32[1] = le32(d + 4);
		if (msg->u32[0] == 0 && msg->u32[1] <= 255)
			return 0;
		if (msg->u32[0] == 1 && msg->u32[1] >= 1 && msg->u32[1] <= 64)
			return 0;
		return vs_fail(err, EPROTO, "agent EXIT: impossible status (how %u, value %u)", msg->u32[0], msg->u32[1]);
	case VS_MSG_ERROR:
		msg->u32[0] = le32(d);
		msg->text = (const char *)d + 4;
		msg->text_len = msg->len - 4;
		for (uint32_t i = 0; i < msg->text_len; i++)
			if (msg->text[i] < 0x20 || msg->text[i] > 0x7e)
				return vs_fail(err, EPROTO, "agent ERROR: the message has a non-printable byte 0x%02x",
					       (unsigned)(uint8_t)msg->text[i]);
		if (msg->u32[0] == 0 || msg->u32[0] > 4095)
			return vs_fail(err, EPROTO, "agent ERROR: errno %u out of range 1..4095", msg->u32[0]);
		return 0;
	case VS_MSG_FILE:
		msg->u32[0] = le32(d);
		msg->text = (const char *)d + 4;
		msg->text_len = msg->len - 4;
		if (msg->u32[0] >= 4096)
			return vs_fail(err, EINVAL, "FILE: mount index %u out of range 0..4095", msg->u32[0]);
		return 0;
	case VS_MSG_PIDS:
		msg->text = (const char *)d;
		msg->text_len = msg->len;
		return check_pids(msg->text, msg->len, err);
	default:
		return 0; /* opaque bytes (config, process, stdio) or empty */
	}
}

int vs_proto_expect(const vs_proto_msg *msg, uint32_t mask, const char *phase, vs_err *err)
{
	if (mask & VS_MSGBIT(msg->type))
		return 0;
	return vs_fail(err, EPROTO, "agent sent %s %s: out of order", vs_proto_type_name(msg->type), phase);
}

int vs_proto_parse(const uint8_t *buf, size_t len, vs_proto_dir from, vs_proto_msg *msg, size_t *used,
		   vs_err *err)
{
	*used = 0;
	if (len < VS_PROTO_HDR)
		return 0;
	if (vs_proto_check_header(buf, from, msg, err) < 0)
		return -1;
	if (len - VS_PROTO_HDR < msg->len)
		return 0;
	msg->data = buf + VS_PROTO_HDR;
	if (vs_proto_check_payload(msg, err) < 0)
		return -1;
	*used = VS_PROTO_HDR + msg->len;
	return 1;
}

int vs_proto_reader_init(vs_proto_reader *r, int fd, vs_proto_dir from, vs_err *err)
{
	/* The largest message this side may get: the agent gets the config. */
	r->cap = VS_PROTO_HDR + (from == VS_FROM_HOST ? VS_PROTO_CONFIG_MAX : 4 + VS_PROTO_STREAM_MAX);
	r->fd = fd, r->from = from;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : vs_fail(err, ENOMEM, "agent protocol buffer");
}

void vs_proto_reader_free(vs_proto_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fill buf[0..n) from fd by the deadline (-1: none). 0 at once-EOF before
 * any byte when eof_ok, else -1. */
static int read_full(int fd, uint8_t *buf, size_t n, long long deadline, bool *eof_first, vs_err *err)
{
	size_t got = 0;
	while (got < n) {
		int wait = -1;
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			wait = left > 0 ? (int)(left > 1000000 ? 1000000 : left) : 0;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, wait);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return vs_fail(err, errno, "poll agent connection");
		if (pr == 0)
			return vs_fail(err, ETIMEDOUT, "agent connection: %s", got ? "message cut short (timed out)"
										: "no message in time");
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return vs_fail(err, errno, "read agent connection");
		if (r == 0) {
			if (got == 0 && eof_first) {
				*eof_first = true;
				return 0;
			}
			return vs_fail(err, ECONNRESET, "agent connection: closed in the middle of a message");
		}
		got += (size_t)r;
	}
	return 0;
}

int vs_proto_recv(vs_proto_reader *r, vs_proto_msg *msg, int first_ms, int rest_ms, vs_err *err)
{
	bool eof = false;
	/* The first byte may take as long as the caller allows; the rest of a
	 * begun message must come promptly (a peer cannot stall us half-way). */
	if (read_full(r->fd, r->buf, 1, first_ms < 0 ? -1 : now_ms() + first_ms, &eof, err) < 0)
		return -1;
	if (eof)
		return 0;
	long long deadline = now_ms() + rest_ms;
	if (read_full(r->fd, r->buf + 1, VS_PROTO_HDR - 1, deadline, NULL, err) < 0 ||
	    vs_proto_check_header(r->buf, r->from, msg, err) < 0)
		return -1;
	if (VS_PROTO_HDR + (size_t)msg->len > r->cap)
		return vs_fail(err, EMSGSIZE, "%s message %s: length %u is more than this side takes",
			       r->from == VS_FROM_GUEST ? "agent" : "host", vs_proto_type_name(msg->type), msg->len);
	if (read_full(r->fd, r->buf + VS_PROTO_HDR, msg->len, deadline, NULL, err) < 0)
		return -1;
	msg->data = r->buf + VS_PROTO_HDR;
	return vs_proto_check_payload(msg, err) < 0 ? -1 : 1;
}

int vs_proto_send(int fd, vs_msg_type type, const void *data, uint32_t len, vs_err *err)
{
	uint8_t hdr[VS_PROTO_HDR];
	put32(hdr, VS_PROTO_MAGIC);
	hdr[4] = VS_PROTO_VERSION, hdr[5] = 0;
	hdr[6] = (uint8_t)type, hdr[7] = (uint8_t)((unsigned)type >> 8);
	put32(hdr + 8, len);
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)data, len}};
	size_t total = sizeof(hdr) + len, done = 0;
	while (done < total) {
		struct iovec v[2];
		int n = 0;
		size_t skip = done;
		for (int i = 0; i < 2; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			v[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
			v[n].iov_len = iov[i].iov_len - skip;
			skip = 0, n++;
		}
		ssize_t w = writev(fd, v, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return vs_fail(err, errno, "send %s on the agent connection", vs_proto_type_name(type));
		done += (size_t)w;
	}
	return 0;
}

int vs_proto_send_u32(int fd, vs_msg_type type, uint32_t a, uint32_t b, unsigned n, vs_err *err)
{
	uint8_t p[8];
	put32(p, a), put32(p + 4, b);
	return vs_proto_send(fd, type, p, n == 2 ? 8 : 4, err);
}
