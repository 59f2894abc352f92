/* virtio-vsock packets (virtio 1.2, 5.10.6): the 44-byte little-endian
 * header, and the one check every packet from the guest goes through
 * before the device looks at it. Pure functions, unit-tested
 * (tests/unit/test_vsock_packet.c). */
#ifndef VS_VMM_DEV_VSOCK_PACKET_H
#define VS_VMM_DEV_VSOCK_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VS_VSOCK_HOST_CID 2
#define VS_VSOCK_HDR_LEN 44
/* The largest payload one packet may carry (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VS_VSOCK_MAX_PAYLOAD (64 * 1024)

#define VS_VSOCK_TYPE_STREAM 1

enum {
	VS_VSOCK_OP_INVALID = 0,
	VS_VSOCK_OP_REQUEST = 1,
	VS_VSOCK_OP_RESPONSE = 2,
	VS_VSOCK_OP_RST = 3,
	VS_VSOCK_OP_SHUTDOWN = 4,
	VS_VSOCK_OP_RW = 5,
	VS_VSOCK_OP_CREDIT_UPDATE = 6,
	VS_VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags: the sender will receive / send no more. */
#define VS_VSOCK_SHUTDOWN_RCV 1u
#define VS_VSOCK_SHUTDOWN_SEND 2u

typedef struct vs_vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
} vs_vsock_hdr;

/* What to do with a packet from the guest. */
typedef enum {
	VS_VSOCK_PKT_OK,   /* a well-formed stream packet for the host */
	VS_VSOCK_PKT_RST,  /* answer with RST (unknown type or op: 5.10.6.3) */
	VS_VSOCK_PKT_DROP, /* not for us or malformed: ignore it */
} vs_vsock_verdict;

void vs_vsock_hdr_decode(const uint8_t raw[VS_VSOCK_HDR_LEN], vs_vsock_hdr *h);
void vs_vsock_hdr_encode(const vs_vsock_hdr *h, uint8_t raw[VS_VSOCK_HDR_LEN]);

/* Check a decoded header from a TX chain of chain_len readable bytes
 * against the guest's CID. Payload bytes are checked against the chain,
 * the cap and the op (only RW carries data); *why names the problem. */
vs_vsock_verdict vs_vsock_check(const vs_vsock_hdr *h, uint64_t chain_len, uint64_t guest_cid, const char **why);

#endif
