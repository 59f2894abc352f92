/* virtio-vsock header coding and the guest packet check; see vsock_packet.h. */
#include "vmm/dev/vsock_packet.h"

#include <string.h>

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void put_le(uint8_t *p, unsigned n, uint64_t v)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

void vs_vsock_hdr_decode(const uint8_t raw[VS_VSOCK_HDR_LEN], vs_vsock_hdr *h)
{
	h->src_cid = get_le(raw, 8);
	h->dst_cid = get_le(raw + 8, 8);
	h->src_port = (uint32_t)get_le(raw + 16, 4);
	h->dst_port = (uint32_t)get_le(raw + 20, 4);
	h->len = (uint32_t)get_le(raw + 24, 4);
	h->type = (uint16_t)get_le(raw + 28, 2);
	h->op = (uint16_t)get_le(raw + 30, 2);
	h->flags = (uint32_t)get_le(raw + 32, 4);
	h->buf_alloc = (uint32_t)get_le(raw + 36, 4);
	h->fwd_cnt = (uint32_t)get_le(raw + 40, 4);
}

void vs_vsock_hdr_encode(const vs_vsock_hdr *h, uint8_t raw[VS_VSOCK_HDR_LEN])
{
	put_le(raw, 8, h->src_cid);
	put_le(raw + 8, 8, h->dst_cid);
	put_le(raw + 16, 4, h->src_port);
	put_le(raw + 20, 4, h->dst_port);
	put_le(raw + 24, 4, h->len);
	put_le(raw + 28, 2, h->type);
	put_le(raw + 30, 2, h->op);
	put_le(raw + 32, 4, h->flags);
	put_le(raw + 36, 4, h->buf_alloc);
	put_le(raw + 40, 4, h->fwd_cnt);
}

vs_vsock_verdict vs_vsock_check(const vs_vsock_hdr *h, uint64_t chain_len, uint64_t guest_cid, const char **why)
{
	*why = NULL;
	/* Not from this guest, or not to the host: nobody to answer. */
	if (h->src_cid != guest_cid)
		return *why = "source CID is not the guest's", VS_VSOCK_PKT_DROP;
	if (h->dst_cid != VS_VSOCK_HOST_CID)
		return *why = "destination CID is not the host", VS_VSOCK_PKT_DROP;
	if (h->len > VS_VSOCK_MAX_PAYLOAD)
		return *why = "payload larger than 64 KiB", VS_VSOCK_PKT_RST;
	if (chain_len < VS_VSOCK_HDR_LEN || h->len > chain_len - VS_VSOCK_HDR_LEN)
		return *why = "payload length beyond the buffer", VS_VSOCK_PKT_RST;
	if (h->type != VS_VSOCK_TYPE_STREAM)
		return *why = "socket type is not stream", VS_VSOCK_PKT_RST;
	switch (h->op) {
	case VS_VSOCK_OP_RW:
		return VS_VSOCK_PKT_OK;
	case VS_VSOCK_OP_REQUEST:
	case VS_VSOCK_OP_RESPONSE:
	case VS_VSOCK_OP_SHUTDOWN:
	case VS_VSOCK_OP_CREDIT_UPDATE:
	case VS_VSOCK_OP_CREDIT_REQUEST:
		if (h->len)
			return *why = "control packet with a payload", VS_VSOCK_PKT_RST;
		return VS_VSOCK_PKT_OK;
	case VS_VSOCK_OP_RST:
		/* Never answer an RST with an RST. */
		return h->len ? (*why = "RST with a payload", VS_VSOCK_PKT_DROP) : VS_VSOCK_PKT_OK;
	default:
		return *why = "unknown operation", VS_VSOCK_PKT_RST;
	}
}
