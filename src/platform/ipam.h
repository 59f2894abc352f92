/* IPv4 address management of managed networks: CIDR parsing, overlap,
 * and the choice of an instance's address (the lowest free one; stored
 * by network.c, so an instance keeps it across restarts). Addresses are
 * in host byte order here. Pure functions. */
#ifndef VSD_IPAM_H
#define VSD_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* "10.0.0.1" */
int vsd_ipam_addr(const char *s, uint32_t *addr, vs_err *err);
/* "10.0.0.1/24": the gateway's address and the prefix (8 to 30); the
 * address must be a host of the subnet (not its network or broadcast). */
int vsd_ipam_gateway(const char *s, uint32_t *gw, int *prefix, vs_err *err);
uint32_t vsd_ipam_mask(int prefix);
bool vsd_ipam_contains(uint32_t net, int prefix, uint32_t addr);
bool vsd_ipam_overlap(uint32_t a, int pa, uint32_t b, int pb);
/* A static address for an instance: in the subnet of gw/prefix, a host,
 * not the gateway. */
int vsd_ipam_check_host(uint32_t gw, int prefix, uint32_t addr, vs_err *err);
/* The lowest host address that is neither gw nor in used[0..n). */
int vsd_ipam_pick(uint32_t gw, int prefix, const uint32_t *used, size_t n, uint32_t *out, vs_err *err);
/* Dotted quad into buf (16 bytes). */
const char *vsd_ipam_fmt(uint32_t addr, char buf[16]);

#endif
