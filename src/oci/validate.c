/* Rules that span sections, checked once everything is parsed. They follow
 * runc's libcontainer/configs/validate so configs fail the same way. */
#include <stdio.h>
#include <string.h>

#include "oci/parse.h"

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Only sysctls that belong to a namespace the container owns may be set;
 * the rest would change the host (runc refuses them the same way). */
static int check_sysctl(const vs_config *c, vs_err *err)
{
	static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
					  "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
					  "kernel.shm_rmid_forced", NULL};
	const vs_linux *lx = &c->linux_;
	for (size_t i = 0; i < lx->n_sysctl; i++) {
		char k[256];
		/* "net/ipv4/ip_forward" is the same sysctl as "net.ipv4.ip_forward". */
		snprintf(k, sizeof(k), "%s", lx->sysctl[i].key);
		for (char *p = k; *p; p++)
			if (*p == '/')
				*p = '.';
		bool is_ipc = has_prefix(k, "fs.mqueue.");
		for (int j = 0; ipc[j]; j++)
			is_ipc |= !strcmp(k, ipc[j]);
		const char *need = NULL;
		if (is_ipc)
			need = lx->ns[VS_NS_IPC].enabled ? NULL : "a private ipc namespace";
		else if (has_prefix(k, "net."))
			need = lx->ns[VS_NS_NET].enabled ? NULL : "a private network namespace";
		else if (!strcmp(k, "kernel.domainname"))
			need = lx->ns[VS_NS_UTS].enabled ? NULL : "a private uts namespace";
		else if (!strcmp(k, "kernel.hostname"))
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "linux.sysctl: %s conflicts with the hostname field; set that instead", k);
		else
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "linux.sysctl: %s is not in a separate kernel namespace", k);
		if (need)
			return vs_fail(err, VS_EINVAL_CONFIG, "linux.sysctl: %s needs %s", k, need);
	}
	return 0;
}

static int check_userns(const vs_config *c, vs_err *err)
{
	const vs_linux *lx = &c->linux_;
	const vs_namespace *u = &lx->ns[VS_NS_USER];
	if (!u->enabled) {
		if (lx->n_uid_mappings || lx->n_gid_mappings)
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "linux.uidMappings: given but there is no user namespace");
		return 0;
	}
	/* Joining an existing user namespace reuses its mappings. */
	if (u->path)
		return 0;
	if (!lx->n_uid_mappings)
		return vs_fail(err, VS_EINVAL_CONFIG, "linux.uidMappings: a new user namespace needs uid mappings");
	if (!lx->n_gid_mappings)
		return vs_fail(err, VS_EINVAL_CONFIG, "linux.gidMappings: a new user namespace needs gid mappings");
	return 0;
}

int vs_oci_validate(const vs_config *c, vs_err *err)
{
	const vs_linux *lx = &c->linux_;
	if (c->hostname && c->hostname[0] && !lx->ns[VS_NS_UTS].enabled)
		return vs_fail(err, VS_EINVAL_CONFIG, "hostname: needs a private uts namespace");
	if (c->domainname && c->domainname[0] && !lx->ns[VS_NS_UTS].enabled)
		return vs_fail(err, VS_EINVAL_CONFIG, "domainname: needs a private uts namespace");
	if ((lx->time_monotonic.set || lx->time_boottime.set) && !lx->ns[VS_NS_TIME].enabled)
		return vs_fail(err, VS_EINVAL_CONFIG, "linux.timeOffsets: needs a private time namespace");
	if (lx->ns[VS_NS_TIME].enabled && lx->ns[VS_NS_TIME].path &&
	    (lx->time_monotonic.set || lx->time_boottime.set))
		return vs_fail(err, VS_EINVAL_CONFIG, "linux.timeOffsets: cannot be set when joining a time namespace");
	if (check_userns(c, err) < 0 || check_sysctl(c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_mounts; i++)
		if (c->mounts[i].idmap && !lx->ns[VS_NS_USER].enabled && !c->mounts[i].n_uid_mappings)
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "mounts[%zu]: idmapped mount needs mappings or a user namespace", i);
	return 0;
}
