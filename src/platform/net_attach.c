/* Instances on managed networks: their config keys, leases (IPAM), the
 * veth into the init's namespace, resolv.conf and the hosts dnsmasq serves. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "platform/db.h"
#include "platform/dns.h"
#include "platform/ipam.h"
#include "platform/name.h"
#include "platform/net_int.h"
#include "platform/netlink.h"
#include "platform/network.h"

int vsd_net_key(const char *key, const char *val, vs_err *err)
{
	if (!strcmp(key, "network"))
		return vsd_name_check(val, "config.network", err) < 0 ? -1 : 1;
	if (!strcmp(key, "network.ipv4.address")) {
		uint32_t a;
		return vsd_ipam_addr(val, &a, err) < 0 ? vs_wrap(err, "config.network.ipv4.address") : 1;
	}
	return 0;
}

static const char *cfg_str(struct json_object *config, const char *key)
{
	struct json_object *v = config ? json_object_object_get(config, key) : NULL;
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Is addr leased on the network to someone other than inst? (lock held) */
static bool taken(vsd *d, const char *net, const char *addr, const char *inst)
{
	char *who = NULL;
	const char *a[] = {net, addr};
	vsd_db_text(d->db, "SELECT instance FROM leases WHERE network = ?1 AND address = ?2", 2, a, &who, NULL);
	bool t = who && strcmp(who, inst);
	free(who);
	return t;
}

int vsd_net_check_instance(vsd *d, struct json_object *config, const char *inst, vs_err *err)
{
	const char *net = cfg_str(config, "network"), *addr = cfg_str(config, "network.ipv4.address");
	if (!net) {
		if (addr)
			return vs_fail(err, VS_EINVAL_CONFIG, "config.network.ipv4.address: set config.network too");
		return 0;
	}
	vsd_netrow n;
	if (vsd_net_load(d, net, &n, err) < 0) {
		if (err)
			err->code = VS_EINVAL_CONFIG;
		return vs_wrap(err, "config.network");
	}
	if (!addr)
		return 0;
	uint32_t a;
	if (vsd_ipam_addr(addr, &a, err) < 0 || vsd_ipam_check_host(n.gw, n.prefix, a, err) < 0)
		return vs_wrap(err, "config.network.ipv4.address (network %s)", net);
	if (taken(d, net, addr, inst))
		return vs_fail(err, EEXIST, "config.network.ipv4.address: %s is taken on network %s", addr, net);
	return 0;
}

/* The instance's stable address on the network, leased on first use (lock held). */
static int lease(vsd *d, const vsd_netrow *n, const char *inst, const char *want, uint32_t *out, vs_err *err)
{
	char *have = NULL;
	const char *a[] = {n->name, inst};
	if (vsd_db_text(d->db, "SELECT address FROM leases WHERE network = ?1 AND instance = ?2", 2, a, &have, err) < 0)
		return -1;
	if (have && (!want || !strcmp(have, want))) {
		int rc = vsd_ipam_addr(have, out, err);
		free(have);
		return rc;
	}
	free(have);
	uint32_t pick;
	if (want) {
		if (vsd_ipam_addr(want, &pick, err) < 0 || vsd_ipam_check_host(n->gw, n->prefix, pick, err) < 0)
			return -1;
		if (taken(d, n->name, want, inst))
			return vs_fail(err, EEXIST, "%s is taken on network %s", want, n->name);
	} else {
		uint32_t *used = NULL;
		size_t nused = 0;
		sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT address FROM leases WHERE network = ?1", 1, a, err);
		while (st && sqlite3_step(st) == SQLITE_ROW) {
			uint32_t *g = realloc(used, sizeof(*used) * (nused + 1));
			if (!g)
				break;
			used = g;
			if (vsd_ipam_addr((const char *)sqlite3_column_text(st, 0), &used[nused], NULL) == 0)
				nused++;
		}
		sqlite3_finalize(st);
		int rc = vsd_ipam_pick(n->gw, n->prefix, used, nused, &pick, err);
		free(used);
		if (rc < 0)
			return -1;
	}
	char s[16];
	vsd_ipam_fmt(pick, s);
	const char *row[] = {n->name, inst, s};
	if (vsd_db_do(d->db, "lease an address", err,
		      "INSERT INTO leases (network, instance, address) VALUES (?1, ?2, ?3)"
		      " ON CONFLICT(network, instance) DO UPDATE SET address = excluded.address", 3, row) < 0)
		return -1;
	*out = pick;
	return 0;
}

void vsd_net_hosts(vsd *d, const vsd_netrow *n)
{
	char dir[PATH_MAX], path[PATH_MAX + 8];
	if (vsd_net_dir(d, n->name, dir, sizeof(dir), NULL) < 0)
		return;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	const char *a[] = {n->name};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT address, instance FROM leases WHERE network = ?1 ORDER BY instance", 1, a, NULL);
	while (buf && st && sqlite3_step(st) == SQLITE_ROW) {
		char line[200];
		int k = snprintf(line, sizeof(line), "%s %s\n", (const char *)sqlite3_column_text(st, 0),
				 (const char *)sqlite3_column_text(st, 1));
		if (len + (size_t)k + 1 > cap) {
			char *g = realloc(buf, cap *= 2);
			if (!g)
				break;
			buf = g;
		}
		memcpy(buf + len, line, (size_t)k);
		len += (size_t)k;
	}
	sqlite3_finalize(st);
	snprintf(path, sizeof(path), "%s/hosts", dir);
	/* Unchanged (a restart of vesseld): dnsmasq is left alone. */
	char *old = NULL;
	size_t oldlen = 0;
	bool same = buf && vs_read_file(path, &old, &oldlen, NULL) == 0 && oldlen == len && !memcmp(old, buf, len);
	free(old);
	vs_err err = {0};
	if (buf && !same && vs_write_file_atomic(path, buf, len, 0644, &err) < 0)
		vs_warn("network %s: %s", n->name, err.msg);
	free(buf);
	if (!same)
		vsd_dns_reload(vsd_dns_find(dir));
}

void vsd_net_instance_gone(vsd *d)
{
	pthread_mutex_lock(&d->lock);
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name FROM networks", 0, NULL, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		vsd_netrow n;
		if (vsd_net_load(d, (const char *)sqlite3_column_text(st, 0), &n, NULL) == 0)
			vsd_net_hosts(d, &n);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&d->lock);
}

struct json_object *vsd_net_leases(vsd *d, const char *name)
{
	struct json_object *arr = json_object_new_array();
	const char *a[] = {name};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT instance, address FROM leases WHERE network = ?1 ORDER BY address", 1, a, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "hostname", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
		json_object_object_add(o, "address", json_object_new_string((const char *)sqlite3_column_text(st, 1)));
		json_object_object_add(o, "type", json_object_new_string("static"));
		json_object_array_add(arr, o);
	}
	sqlite3_finalize(st);
	return arr;
}

/* /etc/resolv.conf inside the init's root, every lookup kept in it. */
static int write_resolv(pid_t pid, const char *gw, vs_err *err)
{
	char root[64], text[64];
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return vs_fail(err, errno, "open %s", root);
	struct open_how how = {.flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, .mode = 0644,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, rfd, "etc/resolv.conf", &how, sizeof(how));
	int e = errno;
	close(rfd);
	if (fd < 0)
		return vs_fail(err, e, "write /etc/resolv.conf in pid %d's root", (int)pid);
	int n = snprintf(text, sizeof(text), "nameserver %s\n", gw);
	ssize_t w = write(fd, text, (size_t)n);
	close(fd);
	return w == n ? 0 : vs_fail(err, EIO, "write /etc/resolv.conf in pid %d's root", (int)pid);
}

int vsd_net_attach(vsd *d, const char *inst, pid_t pid, vs_err *err)
{
	const char *a[] = {inst};
	char *cfg = NULL;
	pthread_mutex_lock(&d->lock);
	vsd_db_text(d->db, "SELECT config FROM instances WHERE name = ?1", 1, a, &cfg, NULL);
	struct json_object *c = cfg ? json_tokener_parse(cfg) : NULL;
	free(cfg);
	const char *net = cfg_str(c, "network");
	vsd_netrow n;
	uint32_t addr = 0;
	int rc = 0;
	if (net && (vsd_net_load(d, net, &n, err) < 0 || lease(d, &n, inst, cfg_str(c, "network.ipv4.address"), &addr, err) < 0))
		rc = -1;
	if (rc == 0 && net)
		vsd_net_hosts(d, &n);
	json_object_put(c);
	pthread_mutex_unlock(&d->lock);
	if (rc < 0)
		return vs_wrap(err, "attach instance %s to network %s", inst, net);
	if (!net) /* no network: its own loopback still works (health checks use it) */
		return vsd_nl_ns_setup(pid, NULL, 0, 0, 0, err);
	unsigned char r[4];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, (int)pid, sizeof(r));
	char host[16];
	snprintf(host, sizeof(host), "vsv%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	if (vsd_nl_veth_add(host, n.bridge, pid, "eth0", err) < 0)
		return vs_wrap(err, "attach instance %s to network %s", inst, net);
	if (vsd_nl_ns_setup(pid, "eth0", htonl(addr), n.prefix, htonl(n.gw), err) < 0 ||
	    write_resolv(pid, n.gateway, err) < 0) {
		vsd_nl_link_del(host, NULL); /* its peer goes with it */
		return vs_wrap(err, "attach instance %s to network %s", inst, net);
	}
	return 0;
}
