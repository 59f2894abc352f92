/* Shared by network.c and net_attach.c. */
#ifndef VSD_NET_INT_H
#define VSD_NET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/vsd.h"

typedef struct vsd_netrow {
	char name[72], bridge[16], gateway[16];
	uint32_t gw; /* host order */
	int prefix;
	bool nat;
} vsd_netrow;

/* The row of a network (lock held): 0, or -1 with ENOENT. */
int vsd_net_load(vsd *d, const char *name, vsd_netrow *n, vs_err *err);
/* <root>/networks/<name> */
int vsd_net_dir(vsd *d, const char *name, char *buf, size_t len, vs_err *err);
/* Rewrite the network's hosts file from its leases and tell dnsmasq (lock held). */
void vsd_net_hosts(vsd *d, const vsd_netrow *n);

#endif
