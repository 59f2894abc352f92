/* Where the cgroup hierarchies are: parsed from mountinfo (not from fixed
 * paths), so a test in its own mount namespace can present a pure cgroup2
 * host. Also this process's own cgroup and the systemd slice syntax. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
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
static unsigned parse_ctrls(const char *s, const char *seps, char **name)
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

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
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

/* One mountinfo line -> hierarchy; returns 1 if it is a cgroup mount. */
static int parse_line(char *line, vs_cg_hier *out)
{
	char *f[6], *save = NULL, *tok = strtok_r(line, " \n", &save);
	int i = 0;
	for (; tok && i < 6; i++, tok = strtok_r(NULL, " \n", &save))
		f[i] = tok;
	if (i < 6)
		return 0;
	while (tok && strcmp(tok, "-") != 0) /* optional fields end at "-" */
		tok = strtok_r(NULL, " \n", &save);
	char *fstype = strtok_r(NULL, " \n", &save);
	char *source = strtok_r(NULL, " \n", &save);
	char *super = strtok_r(NULL, " \n", &save);
	if (!fstype || !source || !super)
		return 0;
	bool v2 = strcmp(fstype, "cgroup2") == 0;
	if (!v2 && strcmp(fstype, "cgroup") != 0)
		return 0;
	unsigned maj = 0, min = 0;
	sscanf(f[2], "%u:%u", &maj, &min);
	unescape(f[3]);
	unescape(f[4]);
	memset(out, 0, sizeof(*out));
	out->v2 = v2;
	out->dev = maj << 20 | min;
	out->mnt = strdup(f[4]);
	out->mnt_root = strdup(f[3]);
	if (!v2)
		out->ctrls = parse_ctrls(super, ",", &out->name);
	return 1;
}

int vs_cg_mounts_read(const char *mountinfo, vs_cg_hier **out, size_t *n, vs_err *err)
{
	FILE *f = fopen(mountinfo, "re");
	if (!f)
		return vs_fail(err, errno, "open %s", mountinfo);
	vs_cg_hier *h = NULL;
	size_t cnt = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		vs_cg_hier one;
		if (!parse_line(line, &one))
			continue;
		bool dup = false; /* the same hierarchy mounted twice: keep the first */
		for (size_t i = 0; i < cnt; i++)
			dup |= h[i].dev == one.dev;
		vs_cg_hier *nh = dup ? NULL : realloc(h, (cnt + 1) * sizeof(*h));
		if (nh)
			h = nh;
		if (dup || !nh || !one.mnt || !one.mnt_root) {
			hier_clear(&one);
			if (dup)
				continue;
			free(line);
			fclose(f);
			vs_cg_hiers_free(h, cnt);
			return vs_fail(err, ENOMEM, "read %s", mountinfo);
		}
		h[cnt++] = one;
	}
	free(line);
	fclose(f);
	/* A v2 hierarchy offers what its root's cgroup.controllers lists. */
	for (size_t i = 0; i < cnt; i++) {
		char *s;
		if (h[i].v2 && vs_cg_read(h[i].mnt, "cgroup.controllers", &s, NULL) == 0) {
			h[i].ctrls = parse_ctrls(s, " \n", NULL);
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
