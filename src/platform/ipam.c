#include "platform/ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vsd_ipam_addr(const char *s, uint32_t *addr, vs_err *err)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return vs_fail(err, VS_EINVAL_CONFIG, "address \"%.40s\": expected an IPv4 address like 10.0.0.5", s ? s : "");
	*addr = ntohl(a.s_addr);
	return 0;
}

uint32_t vsd_ipam_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

bool vsd_ipam_contains(uint32_t net, int prefix, uint32_t addr)
{
	uint32_t m = vsd_ipam_mask(prefix);
	return (net & m) == (addr & m);
}

bool vsd_ipam_overlap(uint32_t a, int pa, uint32_t b, int pb)
{
	int p = pa < pb ? pa : pb; /* the larger network holds the other if they overlap */
	return vsd_ipam_contains(a, p, b);
}

static bool is_host(uint32_t net, int prefix, uint32_t addr)
{
	uint32_t m = vsd_ipam_mask(prefix);
	return vsd_ipam_contains(net, prefix, addr) && (addr & ~m) != 0 && (addr & ~m) != ~m;
}

int vsd_ipam_gateway(const char *s, uint32_t *gw, int *prefix, vs_err *err)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	char a[32];
	if (!slash || (size_t)(slash - s) >= sizeof(a))
		return vs_fail(err, VS_EINVAL_CONFIG, "ipv4.address \"%.40s\": expected GATEWAY/PREFIX like 10.10.0.1/24", s ? s : "");
	snprintf(a, sizeof(a), "%.*s", (int)(slash - s), s);
	char *end;
	errno = 0;
	long p = strtol(slash + 1, &end, 10);
	if (vsd_ipam_addr(a, gw, NULL) < 0 || slash[1] < '0' || slash[1] > '9' || *end || errno)
		return vs_fail(err, VS_EINVAL_CONFIG, "ipv4.address \"%.40s\": expected GATEWAY/PREFIX like 10.10.0.1/24", s);
	if (p < 8 || p > 30)
		return vs_fail(err, VS_EINVAL_CONFIG, "ipv4.address \"%.40s\": the prefix must be 8 to 30", s);
	*prefix = (int)p;
	if (!is_host(*gw, *prefix, *gw))
		return vs_fail(err, VS_EINVAL_CONFIG,
			       "ipv4.address \"%.40s\": the gateway must be a host address of the subnet, not its network or broadcast address", s);
	return 0;
}

int vsd_ipam_check_host(uint32_t gw, int prefix, uint32_t addr, vs_err *err)
{
	char a[16], g[16];
	if (!vsd_ipam_contains(gw, prefix, addr))
		return vs_fail(err, VS_EINVAL_CONFIG, "address %s is outside the subnet %s/%d", vsd_ipam_fmt(addr, a),
			       vsd_ipam_fmt(gw & vsd_ipam_mask(prefix), g), prefix);
	if (!is_host(gw, prefix, addr))
		return vs_fail(err, VS_EINVAL_CONFIG, "address %s is the network or broadcast address of its subnet",
			       vsd_ipam_fmt(addr, a));
	if (addr == gw)
		return vs_fail(err, VS_EINVAL_CONFIG, "address %s is the network's gateway", vsd_ipam_fmt(addr, a));
	return 0;
}

int vsd_ipam_pick(uint32_t gw, int prefix, const uint32_t *used, size_t n, uint32_t *out, vs_err *err)
{
	uint32_t m = vsd_ipam_mask(prefix), net = gw & m;
	for (uint32_t host = 1; host < ~m; host++) {
		uint32_t a = net | host;
		bool taken = a == gw;
		for (size_t i = 0; i < n && !taken; i++)
			taken = used[i] == a;
		if (!taken) {
			*out = a;
			return 0;
		}
	}
	char g[16];
	return vs_fail(err, ENOSPC, "subnet %s/%d: no free address", vsd_ipam_fmt(net, g), prefix);
}

const char *vsd_ipam_fmt(uint32_t addr, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
	return buf;
}
