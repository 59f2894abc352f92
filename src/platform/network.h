/* Managed bridge networks: a Linux bridge with an IPv4 subnet (its
 * gateway on the bridge), one nftables table (NAT out), one dnsmasq for
 * the instance names, and IPAM leases in SQLite so an instance keeps its
 * address. Instances join with config `network=NAME` (and optionally
 * `network.ipv4.address=A`): at each start, between the runtime's create
 * and start, a veth pair puts eth0 into the init's network namespace with
 * the address and default route, and /etc/resolv.conf names the gateway. */
#ifndef VSD_NETWORK_H
#define VSD_NETWORK_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "platform/vsd.h"

/* Lock held. Either everything exists afterwards (row, bridge, rules,
 * dnsmasq) or nothing does. */
int vsd_net_create(vsd *d, const char *name, const char *ipv4, bool nat, vs_err *err);
/* Lock held. Refused (EBUSY) while an instance uses it. */
int vsd_net_delete(vsd *d, const char *name, vs_err *err);
/* Lock held; NULL if unknown. */
struct json_object *vsd_net_json(vsd *d, const char *name);
struct json_object *vsd_net_list(vsd *d, bool recursion);
struct json_object *vsd_net_leases(vsd *d, const char *name);

/* An instance config key of networks: 1 valid, 0 not ours, -1 bad. Pure. */
int vsd_net_key(const char *key, const char *val, vs_err *err);
/* A create request's config against the networks (lock held): the
 * network exists, a static address lies in its subnet and is free. */
int vsd_net_check_instance(vsd *d, struct json_object *config, const char *inst, vs_err *err);
/* Between create and start (lock NOT held): lo up, and the instance's
 * network if it has one. On failure nothing of it is left. */
int vsd_net_attach(vsd *d, const char *inst, pid_t pid, vs_err *err);
/* An instance was deleted (lock NOT held): its lease went with it. */
void vsd_net_instance_gone(vsd *d);
/* At start (lock NOT held): bring every network's bridge, rules and
 * dnsmasq back (re-adopting a dnsmasq that outlived vesseld). */
void vsd_net_recover(vsd *d);

#endif
