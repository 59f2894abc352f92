/* rtnetlink through libmnl: the links, addresses and routes of managed
 * networks (bridges, veth pairs) and of an instance's network namespace.
 * Addresses are IPv4 in network byte order. */
#ifndef VSD_NETLINK_H
#define VSD_NETLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* A bridge with gw/prefix on it, up. EEXIST if the name is taken. */
int vsd_nl_bridge_add(const char *name, uint32_t gw, int prefix, vs_err *err);
/* Delete a link by name (ENOENT is success: already gone). */
int vsd_nl_link_del(const char *name, vs_err *err);
bool vsd_nl_link_exists(const char *name);
/* A veth pair: host end on the bridge and up, the peer created straight
 * inside the network namespace of pid under the name peer. */
int vsd_nl_veth_add(const char *host, const char *bridge, pid_t pid, const char *peer, vs_err *err);
/* Inside the network namespace of pid: lo up; with ifname, also
 * addr/prefix on it, up, and the default route via gw (gw 0: none). */
int vsd_nl_ns_setup(pid_t pid, const char *ifname, uint32_t addr, int prefix, uint32_t gw, vs_err *err);

#endif
