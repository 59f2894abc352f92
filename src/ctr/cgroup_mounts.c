/* Where the cgroup hierarchies are: parsed from mountinfo (not from fixed
 * paths), so a test in its own mount namespace can present a pure cgroup2
 * host. Also this process's own cgroup and the systemd slice syntax. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/mountinfo.h"
#include "ctr/cgroup_internal.h"

static const char *const ctrl_names[VS_CGC_COUNT] = {
	[VS_CGC_CPU] = "cpu",         [VS_CGC_CPUACCT] = "cpuacct",     [VS_CGC_CPUSET] = "cpuset",
	[VS_CGC_MEMORY] = "memory",   [VS_CGC_DEVICES] = "devices",     [VS_CGC_FREEZER] = "freezer",
	[VS_CGC_BLKIO] = "blkio",     [VS_CGC_PIDS] = "pids",           [VS_CGC_HUGETLB] = "hugetlb",
	[VS_CGC_NET_CLS] = "net_cls", [VS_CGC_NET_PRIO] = "net_prio",   [VS_CGC_PERF_EVENT] = "perf_event",
	[VS_CGC_RDMA] = "rdma",       [VS_CGC_MISC] = "misc",           [VS_CGC_IO] = "io",
};

const char *vs_cg_ctrl_name(int ctrl)
{
	return ctrl >= 0 && ctrl < VS_CGC_COUNT ? ctrl_names[ctrl] : "?";
}

int vs_cg_ctrl_from_name(const char *name, size_t len)
{
	for (int i = 0; i < VS_CGC_COUNT; i++)
		if (strlen(ctrl_names[i]) == len && memcmp(ctrl_names[i], name, len) == 0)
			return i;
	return -1;
}

/* Controllers listed in a space/comma separated string. */
unsigned vs_cg_parse_ctrls(const char *s, const char *seps, char **name)
{
	unsigned m = 0;
	while (*s) {
		size_t len = strcspn(s, seps);
		int c = vs_cg_ctrl_from_name(s, len);
		if (c >= 0)
			m |= 1u << c;
		else if (name && len > 5 && strncmp(s, "name=", 5) == 0)
			*name = strndup(s + 5, len - 5);
		s += len;
		s += strspn(s, seps);
	}
	return m;
}

static void hier_clear(vs_cg_hier *h)
{
	free(h->mnt);
	free(h->mnt_root);
	free(h->name);
	free(h->dir);
	free(h->made_from);
}

void vs_cg_hiers_free(vs_cg_hier *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hier_clear(&h[i]);
	free(h);
}

typedef struct {
	vs_cg_hier *h;
	size_t n;
} hiers;

static int add_hier(const vs_mountinfo *m, void *arg)
{
	hiers *hs = arg;
	bool v2 = strcmp(m->fstype, "cgroup2") == 0;
	if (!v2 && strcmp(m->fstype, "cgroup") != 0)
		return 0;
	unsigned dev = m->major << 20 | m->minor;
	for (size_t i = 0; i < hs->n; i++)
		if (hs->h[i].dev == dev)
			return 0; /* the same hierarchy mounted twice: keep the first */
	vs_cg_hier *nh = realloc(hs->h, (hs->n + 1) * sizeof(*nh));
	if (!nh)
		return ENOMEM;
	hs->h = nh;
	vs_cg_hier *one = &hs->h[hs->n++];
	memset(one, 0, sizeof(*one));
	one->v2 = v2;
	one->dev = dev;
	one->mnt = strdup(m->mountpoint);
	one->mnt_root = strdup(m->root);
	if (!v2)
		one->ctrls = vs_cg_parse_ctrls(m->super_opts, ",", &one->name);
	return one->mnt && one->mnt_root ? 0 : ENOMEM;
}

int vs_cg_mounts_read(const char *mountinfo, vs_cg_hier **out, size_t *n, vs_err *err)
{
	hiers hs = {0};
	int rc = vs_mountinfo_each(mountinfo, add_hier, &hs, err);
	if (rc != 0) {
		vs_cg_hiers_free(hs.h, hs.n);
		return rc < 0 ? -1 : vs_fail(err, rc, "read %s", mountinfo);
	}
	vs_cg_hier *h = hs.h;
	size_t cnt = hs.n;
	/* A v2 hierarchy offers what its root's cgroup.controllers lists. */
	for (size_t i = 0; i < cnt; i++) {
		char *s;
		if (h[i].v2 && vs_cg_read(h[i].mnt, "cgroup.controllers", &s, NULL) == 0) {
			h[i].ctrls = vs_cg_parse_ctrls(s, " \n", NULL);
			free(s);
		}
	}
	*out = h;
	*n = cnt;
	return 0;
}

int vs_cg_self_path(const char *proc_cgroup, char **out, vs_err *err)
{
	char *buf;
	if (vs_read_file(proc_cgroup, &buf, NULL, err) < 0)
		return -1;
	char *best = NULL;
	int rank = 0; /* 3 = unified line, 2 = name=systemd, 1 = any */
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		int r = strncmp(l, "0::", 3) == 0 ? 3 : strncmp(c1 + 1, "name=systemd:", 13) == 0 ? 2 : 1;
		if (r > rank) {
			rank = r;
			best = c2 + 1;
		}
	}
	if (!best) {
		free(buf);
		return vs_fail(err, ENOENT, "find own cgroup in %s", proc_cgroup);
	}
	*out = strdup(best);
	free(buf);
	return *out ? 0 : vs_fail(err, ENOMEM, "read %s", proc_cgroup);
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" (systemd's unit nesting). */
static int expand_slice(const char *slice, char *out, size_t len)
{
	size_t sl = strlen(slice);
	if (sl < 6 || strcmp(slice + sl - 6, ".slice") != 0 || strchr(slice, '/'))
		return -1;
	out[0] = 0;
	if (strcmp(slice, "-.slice") == 0)
		return 0;
	const char *stem_end = slice + sl - 6;
	for (const char *p = slice; p <= stem_end; p++) {
		if (p != stem_end && *p != '-')
			continue;
		if (p == slice || p[-1] == '-')
			return -1; /* empty component: "a--b.slice", "-a.slice" */
		size_t used = strlen(out);
		if ((size_t)snprintf(out + used, len - used, "/%.*s.slice", (int)(p - slice), slice) >= len - used)
			return -1;
	}
	return 0;
}

int vs_cg_systemd_path(const char *spec, char **out, vs_err *err)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || strchr(c2 + 1, ':') || strchr(c2 + 1, '/') || !c2[1])
		return vs_fail(err, VS_EINVAL_CONFIG,
			       "linux.cgroupsPath=%s: expected \"slice:prefix:name\" with --systemd-cgroup", spec);
	char slice[256], parent[1024], unit[512];
	snprintf(slice, sizeof(slice), "%.*s", (int)(c1 - spec), spec);
	if (!slice[0])
		snprintf(slice, sizeof(slice), "system.slice");
	if (expand_slice(slice, parent, sizeof(parent)) < 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "linux.cgroupsPath=%s: bad slice name \"%s\"", spec, slice);
	const char *name = c2 + 1;
	size_t nl = strlen(name);
	if (nl > 6 && strcmp(name + nl - 6, ".slice") == 0)
		snprintf(unit, sizeof(unit), "%s", name); /* the container is a slice itself */
	else if (c2 > c1 + 1)
		snprintf(unit, sizeof(unit), "%.*s-%s.scope", (int)(c2 - c1 - 1), c1 + 1, name);
	else
		snprintf(unit, sizeof(unit), "%s.scope", name);
	if (asprintf(out, "%s/%s", parent, unit) < 0)
		return vs_fail(err, ENOMEM, "linux.cgroupsPath=%s", spec);
	return 0;
}

vs_cg_hier *vs_cg_unified(vs_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].v2)
			return &cg->h[i];
	return NULL;
}

vs_cg_hier *vs_cg_find(vs_cgroup *cg, int ctrl)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->h[i].v2 && (cg->h[i].ctrls & (1u << ctrl)))
			return &cg->h[i];
	vs_cg_hier *u = vs_cg_unified(cg);
	return u && (u->ctrls & (1u << ctrl)) ? u : NULL;
}
