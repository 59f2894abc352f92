/* The host <-> agent protocol of VM-isolated containers (vessel-agent in
 * the guest, the runtime on the host), over one vsock stream.
 *
 * Every message: a 12-byte little-endian header {magic "VSAG", version,
 * type, length} and `length` bytes of payload, at most the type's cap.
 * Each type travels one way only. Everything the guest sends is untrusted
 * to the host: vs_proto_check is the one place a header and its payload
 * are judged (direction, type, length, payload shape), and vs_proto_recv
 * reads nothing it has not judged. Order is the session's business
 * (vs_proto_expect). */
#ifndef VS_HYBRID_PROTO_H
#define VS_HYBRID_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define VS_PROTO_MAGIC 0x47415356u /* "VSAG" little-endian */
#define VS_PROTO_VERSION 1
#define VS_PROTO_HDR 12
#define VS_PROTO_PORT 1024         /* host port the agent connects to */
#define VS_PROTO_EXEC_PORT 1025    /* guest port the agent listens on: exec and ps */
#define VS_PROTO_STREAM_MAX 65536  /* one stdio frame */
#define VS_PROTO_CONFIG_MAX (4u << 20)
#define VS_PROTO_ERRMSG_MAX 1024
#define VS_PROTO_FILE_MAX (1u << 20) /* one host file of a bind mount */
#define VS_PROTO_PIDS_MAX 65536      /* the PIDS listing */

typedef enum {
	VS_MSG_HELLO = 1,  /* guest: the agent is up; payload u32 agent protocol version */
	VS_MSG_CREATE,     /* host: config.json as the bundle has it */
	VS_MSG_READY,      /* guest: the container is created, its process waits for START */
	VS_MSG_START,      /* host: run the process */
	VS_MSG_STDIN,      /* host: bytes for the process's stdin; empty = end of input */
	VS_MSG_STDOUT,     /* guest: bytes the process wrote to stdout */
	VS_MSG_STDERR,     /* guest: ... to stderr */
	VS_MSG_SIGNAL,     /* host: u32 signal for the process */
	VS_MSG_EXIT,       /* guest: u32 how (0 exited, 1 killed by a signal), u32 code or signal */
	VS_MSG_ERROR,      /* guest: u32 errno, then a message (printable text) */
	VS_MSG_FILE,       /* host, before CREATE: u32 index of a bind mount in config.json, the file's bytes */
	VS_MSG_EXEC,       /* host, first on an exec connection: process.json; READY once it runs */
	VS_MSG_PS,         /* host, first on an exec connection: list the container's processes */
	VS_MSG_PIDS,       /* guest: lines "PID COMM\n" (PID 1..4194304, COMM printable, <= 64 bytes) */
	VS_MSG_TYPE_MAX = VS_MSG_PIDS,
} vs_msg_type;

typedef enum { VS_FROM_HOST, VS_FROM_GUEST } vs_proto_dir;

typedef struct vs_proto_msg {
	vs_msg_type type;
	uint32_t len;
	const uint8_t *data; /* len bytes, inside the reader's (or parser's) buffer */
	/* Decoded by vs_proto_check_payload: */
	uint32_t u32[2];   /* HELLO version; SIGNAL; EXIT how, value; ERROR errno; FILE index */
	const char *text;  /* ERROR message, text_len bytes of printable ASCII (no NUL); PIDS lines; FILE bytes */
	uint32_t text_len;
} vs_proto_msg;

/* Bit for vs_proto_expect's mask. */
#define VS_MSGBIT(t) (1u << (t))

const char *vs_proto_type_name(unsigned type);

/* Judge a header (12 bytes): magic, version, a known type sent this way,
 * length within the type's cap. Fills msg->type and msg->len. */
int vs_proto_check_header(const uint8_t hdr[VS_PROTO_HDR], vs_proto_dir from, vs_proto_msg *msg, vs_err *err);
/* Judge the payload of a checked header and decode it into msg. */
int vs_proto_check_payload(vs_proto_msg *msg, vs_err *err);

/* The message must be one of the types in mask (VS_MSGBIT...). */
int vs_proto_expect(const vs_proto_msg *msg, uint32_t mask, const char *phase, vs_err *err);

/* Parse one message from a buffer: 1 with *used bytes consumed, 0 when
 * more bytes are needed, -1 on a bad message. msg->data points into buf. */
int vs_proto_parse(const uint8_t *buf, size_t len, vs_proto_dir from, vs_proto_msg *msg, size_t *used,
		   vs_err *err);

/* A reader with its own buffer (the cap of the largest message it may get). */
typedef struct vs_proto_reader {
	int fd;
	vs_proto_dir from;
	uint8_t *buf;
	size_t cap;
} vs_proto_reader;

int vs_proto_reader_init(vs_proto_reader *r, int fd, vs_proto_dir from, vs_err *err);
void vs_proto_reader_free(vs_proto_reader *r);
/* Read one whole message. first_ms: how long to wait for its first byte
 * (-1 forever); once it has begun, the rest must follow within rest_ms.
 * Returns 1 with a message, 0 on a clean end of stream before any byte,
 * -1 with err (ETIMEDOUT, a bad message, a stream cut mid-message). */
int vs_proto_recv(vs_proto_reader *r, vs_proto_msg *msg, int first_ms, int rest_ms, vs_err *err);

/* Send one message (header + payload), retrying short writes. */
int vs_proto_send(int fd, vs_msg_type type, const void *data, uint32_t len, vs_err *err);
int vs_proto_send_u32(int fd, vs_msg_type type, uint32_t a, uint32_t b, unsigned n, vs_err *err);

#endif
