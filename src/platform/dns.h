/* dnsmasq for a managed network, DNS only: instance names from a hosts
 * file vesseld writes (addresses are static, assigned by IPAM and set by
 * vesseld itself, so no DHCP client is needed in an application
 * container). One dnsmasq per network, listening on the bridge's gateway
 * address, a child of vesseld watched by the supervisor; it outlives a
 * killed vesseld and is re-adopted through its pid file. */
#ifndef VSD_DNS_H
#define VSD_DNS_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

/* dir holds hosts, dnsmasq.pid and dnsmasq.log. Returns the pid. */
pid_t vsd_dns_spawn(const char *dir, const char *bridge, const char *gw, vs_err *err);
/* The dnsmasq of dir still running (from the pid file), or 0. */
pid_t vsd_dns_find(const char *dir);
/* Re-read the hosts file (SIGHUP). */
void vsd_dns_reload(pid_t pid);
/* Stop it and wait (at most 2 s) until it is gone. */
void vsd_dns_stop(pid_t pid);

#endif
