#include "platform/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "base/log.h"
#include "platform/db.h"
#include "platform/dns.h"
#include "platform/ipam.h"
#include "platform/net_int.h"
#include "platform/netlink.h"
#include "platform/nft.h"
#include "platform/sha256.h"
#include "platform/supervise.h"

int vsd_net_dir(vsd *d, const char *name, char *buf, size_t len, vs_err *err)
{
	return vsd_path(d, buf, len, err, "networks/%s", name);
}

int vsd_net_load(vsd *d, const char *name, vsd_netrow *n, vs_err *err)
{
	memset(n, 0, sizeof(*n));
	const char *a[] = {name};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT bridge, gateway, prefix, nat FROM networks WHERE name = ?1", 1, a, err);
	if (!st)
		return -1;
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(n->name, sizeof(n->name), "%s", name);
		snprintf(n->bridge, sizeof(n->bridge), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(n->gateway, sizeof(n->gateway), "%s", (const char *)sqlite3_column_text(st, 1));
		n->prefix = sqlite3_column_int(st, 2);
		n->nat = sqlite3_column_int(st, 3) != 0;
		rc = vsd_ipam_addr(n->gateway, &n->gw, err);
	} else {
		vs_fail(err, ENOENT, "network %s not found", name);
	}
	sqlite3_finalize(st);
	return rc;
}

/* dnsmasq died: the supervisor asks for a new one (lock NOT held). */
static void respawn_dns(vsd *d, const char *name)
{
	pthread_mutex_lock(&d->lock);
	vsd_netrow n;
	char dir[PATH_MAX];
	pid_t pid = 0;
	vs_err err = {0};
	if (vsd_net_load(d, name, &n, NULL) == 0 && vsd_net_dir(d, name, dir, sizeof(dir), &err) == 0)
		pid = vsd_dns_spawn(dir, n.bridge, n.gateway, &err);
	pthread_mutex_unlock(&d->lock);
	if (pid > 0)
		vsd_sup_service(d, name, pid, respawn_dns);
	else if (err.code)
		vs_warn("network %s: %s", name, err.msg);
}

/* Bridge, rules, dnsmasq for a stored network (lock held). Idempotent. */
static int bring_up(vsd *d, const vsd_netrow *n, bool adopt, vs_err *err)
{
	char dir[PATH_MAX];
	if (vsd_net_dir(d, n->name, dir, sizeof(dir), err) < 0 || vs_mkdir_p(dir, 0755, err) < 0)
		return -1;
	chmod(dir, 0755); /* dnsmasq reads the hosts file as nobody */
	if (!vsd_nl_link_exists(n->bridge) && vsd_nl_bridge_add(n->bridge, htonl(n->gw), n->prefix, err) < 0)
		return -1;
	if (n->nat && vs_write_str("/proc/sys/net/ipv4/ip_forward", "1", err) < 0)
		return vs_wrap(err, "network %s: enable IPv4 forwarding", n->name);
	/* At a restart of vesseld a table in place is left as it is. */
	if (!(adopt && vsd_nft_exists(n->bridge)) && vsd_nft_apply(n->bridge, n->gw, n->prefix, n->nat, err) < 0)
		return -1;
	vsd_net_hosts(d, n);
	pid_t pid = adopt ? vsd_dns_find(dir) : 0;
	if (!pid && (pid = vsd_dns_spawn(dir, n->bridge, n->gateway, err)) < 0)
		return -1;
	vsd_sup_service(d, n->name, pid, respawn_dns);
	return 0;
}

/* Remove everything of a network but its row (lock held). */
static void tear_down(vsd *d, const char *name, const char *bridge)
{
	char dir[PATH_MAX];
	if (vsd_net_dir(d, name, dir, sizeof(dir), NULL) == 0) {
		vsd_dns_stop(vsd_dns_find(dir));
		vs_rmtree(dir, NULL);
	}
	vs_err err = {0};
	if (vsd_nft_remove(bridge, &err) < 0 || vsd_nl_link_del(bridge, &err) < 0)
		vs_warn("network %s: %s", name, err.msg);
}

int vsd_net_create(vsd *d, const char *name, const char *ipv4, bool nat, vs_err *err)
{
	vsd_netrow n = {.nat = nat};
	snprintf(n.name, sizeof(n.name), "%s", name);
	if (vsd_ipam_gateway(ipv4, &n.gw, &n.prefix, err) < 0)
		return -1;
	vsd_ipam_fmt(n.gw, n.gateway);
	/* Overlap with any other managed network is refused before anything is made. */
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name, gateway, prefix FROM networks", 0, NULL, err);
	if (!st)
		return -1;
	int rc = 0;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		const char *other = (const char *)sqlite3_column_text(st, 0);
		uint32_t ogw;
		int op = sqlite3_column_int(st, 2);
		if (!strcmp(other, name))
			rc = vs_fail(err, EEXIST, "network %s already exists", name);
		else if (vsd_ipam_addr((const char *)sqlite3_column_text(st, 1), &ogw, NULL) == 0 &&
			 vsd_ipam_overlap(n.gw, n.prefix, ogw, op))
			rc = vs_fail(err, VS_EINVAL_CONFIG, "ipv4.address %s overlaps network %s (%s/%d)", ipv4, other,
				     (const char *)sqlite3_column_text(st, 1), op);
	}
	sqlite3_finalize(st);
	if (rc < 0)
		return -1;
	char now[40], natv[2] = {nat ? '1' : '0', 0}, pfx[8], key[PATH_MAX + 80], hex[VSD_SHA256_HEX];
	vsd_now(now);
	snprintf(pfx, sizeof(pfx), "%d", n.prefix);
	/* vsbr + 8 hex of sha256(root/name): two vesseld roots on one host
	 * (a test beside a real one) do not pick the same bridge. */
	snprintf(key, sizeof(key), "%s/%s", d->root, name);
	vsd_sha256_hex(key, strlen(key), hex);
	snprintf(n.bridge, sizeof(n.bridge), "vsbr%.8s", hex);
	const char *a[] = {name, n.gateway, pfx, natv, now, n.bridge};
	if (vsd_db_do(d->db, "insert network", err,
		      "INSERT INTO networks (name, bridge, gateway, prefix, nat, created_at) VALUES (?1, ?6, ?2, ?3, ?4, ?5)", 6, a) < 0 ||
	    vsd_net_load(d, name, &n, err) < 0) {
		vsd_db_do(d->db, "drop network", NULL, "DELETE FROM networks WHERE name = ?1", 1, a);
		return -1;
	}
	if (vsd_nl_link_exists(n.bridge)) {
		vsd_db_do(d->db, "drop network", NULL, "DELETE FROM networks WHERE name = ?1", 1, a);
		return vs_fail(err, EEXIST, "network %s: a link named %s already exists on the host", name, n.bridge);
	}
	if (bring_up(d, &n, false, err) < 0) {
		/* Nothing half-made stays: the rules, bridge and dnsmasq go with the row. */
		tear_down(d, name, n.bridge);
		vsd_db_do(d->db, "drop network", NULL, "DELETE FROM networks WHERE name = ?1", 1, a);
		return vs_wrap(err, "create network %s", name);
	}
	return 0;
}

static struct json_object *used_by(vsd *d, const char *name)
{
	struct json_object *arr = json_object_new_array();
	const char *a[] = {name};
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name FROM instances WHERE json_extract(config, '$.network') = ?1 ORDER BY name",
				       1, a, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char url[128];
		snprintf(url, sizeof(url), "/1.0/instances/%s", (const char *)sqlite3_column_text(st, 0));
		json_object_array_add(arr, json_object_new_string(url));
	}
	sqlite3_finalize(st);
	return arr;
}

int vsd_net_delete(vsd *d, const char *name, vs_err *err)
{
	vsd_netrow n;
	if (vsd_net_load(d, name, &n, err) < 0)
		return -1;
	struct json_object *u = used_by(d, name);
	size_t users = json_object_array_length(u);
	char first[128] = "";
	if (users)
		snprintf(first, sizeof(first), "%s", json_object_get_string(json_object_array_get_idx(u, 0)));
	json_object_put(u);
	if (users)
		return vs_fail(err, EBUSY, "network %s is in use by %zu instance(s), first %s", name, users, first);
	const char *a[] = {name};
	/* The row first: a respawn of dnsmasq racing this finds no network. */
	if (vsd_db_do(d->db, "delete network", err, "DELETE FROM networks WHERE name = ?1", 1, a) < 0)
		return -1;
	tear_down(d, name, n.bridge);
	return 0;
}

struct json_object *vsd_net_json(vsd *d, const char *name)
{
	vsd_netrow n;
	if (vsd_net_load(d, name, &n, NULL) < 0)
		return NULL;
	struct json_object *o = json_object_new_object(), *c = json_object_new_object();
	char cidr[40];
	snprintf(cidr, sizeof(cidr), "%s/%d", n.gateway, n.prefix);
	json_object_object_add(c, "ipv4.address", json_object_new_string(cidr));
	json_object_object_add(c, "ipv4.nat", json_object_new_string(n.nat ? "true" : "false"));
	json_object_object_add(c, "bridge.name", json_object_new_string(n.bridge));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string("bridge"));
	json_object_object_add(o, "managed", json_object_new_boolean(true));
	json_object_object_add(o, "status", json_object_new_string(vsd_nl_link_exists(n.bridge) ? "Created" : "Errored"));
	json_object_object_add(o, "description", json_object_new_string(""));
	json_object_object_add(o, "config", c);
	json_object_object_add(o, "used_by", used_by(d, name));
	return o;
}

struct json_object *vsd_net_list(vsd *d, bool recursion)
{
	struct json_object *arr = json_object_new_array();
	sqlite3_stmt *st = vsd_db_prep(d->db, "SELECT name FROM networks ORDER BY name", 0, NULL, NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		if (recursion) {
			struct json_object *o = vsd_net_json(d, name);
			if (o)
				json_object_array_add(arr, o);
		} else {
			char url[128];
			snprintf(url, sizeof(url), "/1.0/networks/%s", name);
			json_object_array_add(arr, json_object_new_string(url));
		}
	}
	sqlite3_finalize(st);
	return arr;
}

void vsd_net_recover(vsd *d)
{
	pthread_mutex_lock(&d->lock);
	int n;
	char **names = vsd_db_names(d->db, "SELECT name FROM networks", &n);
	for (int i = 0; i < n; i++) {
		vsd_netrow r;
		vs_err err = {0};
		if (names[i] && (vsd_net_load(d, names[i], &r, &err) < 0 || bring_up(d, &r, true, &err) < 0))
			vs_warn("network %s: %s", names[i], err.msg);
		free(names[i]);
	}
	free(names);
	pthread_mutex_unlock(&d->lock);
}
