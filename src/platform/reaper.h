/* vesseld is a child subreaper (supervise.c), so a process left behind
 * in an instance's pid namespace by a `vessel exec` that died first (a
 * health check killed at its timeout) becomes vesseld's child. Those
 * orphans are reaped here; an instance's init (pid 1 of its namespace)
 * and vesseld's own children (same namespace) are left to their waiters. */
#ifndef VSD_REAPER_H
#define VSD_REAPER_H

/* Reap every such zombie; returns how many. */
int vsd_reap_orphans(void);

#endif
