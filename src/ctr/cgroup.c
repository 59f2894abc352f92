/* The container's cgroup across hierarchies: mode detection, resolving
 * cgroupsPath, creating, entering, listing and removing. Resource writes
 * are in cgroup_apply.c and the per-version files. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "ctr/cgroup_internal.h"

#define MOUNTINFO "/proc/self/mountinfo"

static int mode_of(const vs_cg_hier *h, size_t n, const char *mountinfo, vs_cgroup_mode *mode, vs_err *err)
{
	bool v1 = false, v2 = false;
	for (size_t i = 0; i < n; i++) {
		v2 |= h[i].v2;
		v1 |= !h[i].v2 && h[i].ctrls != 0; /* a name=systemd-only v1 tree is not "v1 mode" */
	}
	if (!v1 && !v2)
		return vs_fail(err, VS_ENOTSUP_HOST, "find cgroup controllers in %s", mountinfo);
	*mode = v1 && v2 ? VS_CG_HYBRID : v1 ? VS_CG_V1 : VS_CG_V2;
	return 0;
}

int vs_cgroup_mode_detect_at(const char *mountinfo, vs_cgroup_mode *mode, vs_err *err)
{
	vs_cg_hier *h;
	size_t n;
	if (vs_cg_mounts_read(mountinfo, &h, &n, err) < 0)
		return -1;
	int rc = mode_of(h, n, mountinfo, mode, err);
	vs_cg_hiers_free(h, n);
	return rc;
}

int vs_cgroup_mode_detect(vs_cgroup_mode *mode, vs_err *err)
{
	return vs_cgroup_mode_detect_at(MOUNTINFO, mode, err);
}

/* Collapse "//", drop a trailing "/", refuse "." and ".." (they would
 * escape the hierarchy) and the root itself. */
static int normalize(const char *in, const char *shown, char **out, vs_err *err)
{
	char *o = malloc(strlen(in) + 2), *w = o;
	if (!o)
		return vs_fail(err, ENOMEM, "linux.cgroupsPath=%s", shown);
	for (const char *p = in; *p;) {
		p += strspn(p, "/");
		size_t len = strcspn(p, "/");
		if (!len)
			break;
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			free(o);
			return vs_fail(err, VS_EINVAL_CONFIG, "linux.cgroupsPath=%s: \".\" and \"..\" are not allowed",
				       shown);
		}
		*w++ = '/';
		memcpy(w, p, len);
		w += len;
		p += len;
	}
	*w = 0;
	if (w == o) {
		free(o);
		return vs_fail(err, VS_EINVAL_CONFIG, "linux.cgroupsPath=%s: the container cannot use the root cgroup",
			       shown);
	}
	*out = o;
	return 0;
}

/* Absolute cgroup path for the request (see cgroup.h). */
static int resolve(const char *cgroups_path, const char *id, bool systemd, char **out, vs_err *err)
{
	char *raw = NULL;
	int rc;
	if (!cgroups_path || !*cgroups_path) {
		if (!id || !*id || strchr(id, '/'))
			return vs_fail(err, VS_EINVAL_CONFIG, "container id \"%s\": cannot name a cgroup", id ? id : "");
		rc = asprintf(&raw, "/vessel/%s", id) < 0 ? vs_fail(err, ENOMEM, "cgroup path for %s", id) : 0;
	} else if (cgroups_path[0] == '/') {
		rc = (raw = strdup(cgroups_path)) ? 0 : vs_fail(err, ENOMEM, "linux.cgroupsPath");
	} else if (systemd) {
		rc = vs_cg_systemd_path(cgroups_path, &raw, err);
	} else {
		/* Relative: under our own cgroup. One reference hierarchy (the
		 * unified one, else name=systemd) keeps a single path for all. */
		char *self;
		if (vs_cg_self_path("/proc/self/cgroup", &self, err) < 0)
			return vs_wrap(err, "linux.cgroupsPath=%s", cgroups_path);
		rc = asprintf(&raw, "%s/%s", self, cgroups_path) < 0 ? vs_fail(err, ENOMEM, "linux.cgroupsPath") : 0;
		free(self);
	}
	if (rc < 0)
		return -1;
	rc = normalize(raw, cgroups_path ? cgroups_path : raw, out, err);
	free(raw);
	return rc;
}

int vs_cgroup_open(const char *cgroups_path, const char *id, bool systemd, vs_cgroup **out, vs_err *err)
{
	vs_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return vs_fail(err, ENOMEM, "open cgroup");
	if (resolve(cgroups_path, id, systemd, &cg->path, err) < 0 ||
	    vs_cg_mounts_read(MOUNTINFO, &cg->h, &cg->n, err) < 0 ||
	    mode_of(cg->h, cg->n, MOUNTINFO, &cg->mode, err) < 0)
		goto fail;
	for (size_t i = 0; i < cg->n; i++) {
		vs_cg_hier *h = &cg->h[i];
		/* A mount of a sub-tree (container without cgroupns) shows
		 * that sub-tree as its root: paths inside it are relative. */
		const char *p = cg->path;
		size_t rl = strlen(h->mnt_root);
		if (rl > 1 && strncmp(p, h->mnt_root, rl) == 0 && (p[rl] == '/' || !p[rl]))
			p += rl;
		if (asprintf(&h->dir, "%s%s", strcmp(h->mnt, "/") ? h->mnt : "", p) < 0) {
			h->dir = NULL;
			vs_fail(err, ENOMEM, "open cgroup %s", cg->path);
			goto fail;
		}
		/* Control files are reached as dir/file: a directory that leaves
		 * no room for them is refused here, never truncated later. */
		if (strlen(h->dir) > VS_CG_DIR_MAX) {
			vs_fail(err, ENAMETOOLONG, "linux.cgroupsPath: cgroup directory %.64s... is %zu bytes, more than %d",
				h->dir, strlen(h->dir), VS_CG_DIR_MAX);
			goto fail;
		}
	}
	*out = cg;
	return 0;
fail:
	vs_cgroup_free(cg);
	return -1;
}

const char *vs_cgroup_path(const vs_cgroup *cg)
{
	return cg->path;
}

vs_cgroup_mode vs_cgroup_get_mode(const vs_cgroup *cg)
{
	return cg->mode;
}

const char *vs_cgroup_mount_at(const vs_cgroup *cg, size_t i, bool *v2)
{
	if (i >= cg->n)
		return NULL;
	*v2 = cg->h[i].v2;
	return cg->h[i].mnt;
}

const char *vs_cgroup_dir(const vs_cgroup *cg, const char *controller)
{
	int c = controller ? vs_cg_ctrl_from_name(controller, strlen(controller)) : -1;
	vs_cg_hier *h = c >= 0 ? vs_cg_find((vs_cgroup *)cg, c) : vs_cg_unified((vs_cgroup *)cg);
	return h ? h->dir : NULL;
}

void vs_cgroup_free(vs_cgroup *cg)
{
	if (!cg)
		return;
	vs_cg_hiers_free(cg->h, cg->n);
	free(cg->path);
	free(cg);
}

static bool has_word(const char *list, const char *w)
{
	size_t wl = strlen(w);
	for (const char *p = list; (p = strstr(p, w)); p += wl)
		if ((p == list || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
			return true;
	return false;
}

/* v2: a child can only use controllers its parent delegates. Best effort:
 * one that cannot be enabled surfaces later as a named missing file. */
static void delegate(const char *dir)
{
	char *avail = NULL, *on = NULL;
	if (vs_cg_read(dir, "cgroup.controllers", &avail, NULL) == 0 &&
	    vs_cg_read(dir, "cgroup.subtree_control", &on, NULL) == 0) {
		char path[PATH_MAX];
		if (vs_path_fmt(path, sizeof(path), NULL, "%s/cgroup.subtree_control", dir) < 0)
			goto out;
		for (char *save = NULL, *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
			char plus[64];
			snprintf(plus, sizeof(plus), "+%s", c);
			vs_err e;
			if (!has_word(on, c) && vs_write_str(path, plus, &e) < 0)
				vs_debug("cgroup: %s: %s", e.msg, strerror(e.code));
		}
	}
out:
	free(avail);
	free(on);
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems and then refuses
 * tasks, so inherit the parent's. One just made (fresh) is known empty,
 * or (cgroup.clone_children) already holds what we would write. */
static int cpuset_inherit(const char *dir, bool fresh, vs_err *err)
{
	char parent[PATH_MAX];
	if (vs_path_fmt(parent, sizeof(parent), err, "%s", dir) < 0)
		return -1;
	*strrchr(parent, '/') = 0;
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (int i = 0; i < 2; i++) {
		char *cur, *up;
		if (!fresh) {
			if (vs_cg_read(dir, files[i], &cur, err) < 0)
				return -1;
			bool empty = cur[strspn(cur, " \n")] == 0;
			free(cur);
			if (!empty)
				continue;
		}
		if (vs_cg_read(parent, files[i], &up, err) < 0)
			return -1;
		up[strcspn(up, "\n")] = 0;
		char path[PATH_MAX];
		int rc = vs_path_fmt(path, sizeof(path), err, "%s/%s", dir, files[i]);
		if (rc == 0)
			rc = vs_write_str(path, up, err);
		free(up);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int make_dir(vs_cg_hier *h, vs_err *err)
{
	char path[PATH_MAX];
	if (vs_path_fmt(path, sizeof(path), err, "%s", h->dir) < 0)
		return -1;
	/* The parents are usually there already (one "vessel" directory for
	 * all containers), so the leaf alone is tried first, which spares a
	 * failing mkdir, and for cpuset two reads, per hierarchy. v2 walks only
	 * if the new leaf lacks a controller of the root: each level must
	 * delegate the controllers to the next. */
	if (h->v2) {
		if (mkdir(path, 0755) == 0) {
			if (!(h->made_from = strdup(path)))
				return vs_fail(err, ENOMEM, "create cgroup %s", path);
			char *s;
			unsigned have = 0;
			if (vs_cg_read(path, "cgroup.controllers", &s, NULL) == 0) {
				have = vs_cg_parse_ctrls(s, " \n", NULL);
				free(s);
			}
			if ((have & h->ctrls) == h->ctrls)
				return 0;
		} else if (errno != ENOENT && errno != EEXIST) {
			return vs_fail(err, errno, "create cgroup %s", path);
		}
	} else {
		if (mkdir(path, 0755) == 0) {
			if (!(h->made_from = strdup(path)))
				return vs_fail(err, ENOMEM, "create cgroup %s", path);
			return (h->ctrls & (1u << VS_CGC_CPUSET)) ? cpuset_inherit(path, true, err) : 0;
		}
		if (errno != ENOENT && errno != EEXIST)
			return vs_fail(err, errno, "create cgroup %s", path);
	}
	/* Walk the components below the mount point: "/vessel", "/vessel/x". */
	for (char *p = path + (strcmp(h->mnt, "/") ? strlen(h->mnt) : 0); p && *p == '/';) {
		char *next = strchr(p + 1, '/');
		if (h->v2) {
			*p = 0; /* path is now the parent */
			delegate(path[0] ? path : "/");
			*p = '/';
		}
		if (next)
			*next = 0;
		bool made = mkdir(path, 0755) == 0;
		if (!made && errno != EEXIST)
			return vs_fail(err, errno, "create cgroup %s", path);
		if (made && !h->made_from && !(h->made_from = strdup(path)))
			return vs_fail(err, ENOMEM, "create cgroup %s", path);
		if (!h->v2 && (h->ctrls & (1u << VS_CGC_CPUSET)) && cpuset_inherit(path, made, err) < 0)
			return -1;
		if (next)
			*next = '/';
		p = next;
	}
	return 0;
}

/* rmdir a cgroup and any child cgroups the container made under it,
 * retrying while the kernel still counts exiting tasks (EBUSY). */
static int remove_tree(const char *dir)
{
	/* Mostly there is nothing under it: try that first. */
	if (rmdir(dir) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY && errno != ENOTEMPTY)
		return -1;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char sub[PATH_MAX];
		if (vs_path_fmt(sub, sizeof(sub), NULL, "%s/%s", dir, de->d_name) < 0 || remove_tree(sub) < 0)
			rc = -1;
	}
	closedir(d);
	if (rc < 0)
		return -1;
	for (int i = 0; i < 100; i++) { /* up to ~2 s */
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		nanosleep(&(struct timespec){0, (i < 10 ? 1 : 20) * 1000000L}, NULL);
	}
	return -1;
}

/* Undo vs_cgroup_create in one hierarchy: the leaf up to made_from. */
static void unmake_dir(vs_cg_hier *h)
{
	if (!h->made_from)
		return;
	char path[PATH_MAX];
	if (vs_path_fmt(path, sizeof(path), NULL, "%s", h->dir) < 0)
		return;
	size_t stop = strlen(h->made_from);
	while (strlen(path) >= stop) {
		if (remove_tree(path) < 0)
			vs_debug("cgroup: remove %s: %s", path, strerror(errno));
		*strrchr(path, '/') = 0;
	}
	free(h->made_from);
	h->made_from = NULL;
}

int vs_cgroup_create(vs_cgroup *cg, vs_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (make_dir(&cg->h[i], err) < 0) {
			for (size_t j = 0; j <= i; j++)
				unmake_dir(&cg->h[j]);
			return -1;
		}
	}
	return 0;
}

int vs_cgroup_enter(vs_cgroup *cg, pid_t pid, vs_err *err)
{
	char s[32];
	snprintf(s, sizeof(s), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		char path[PATH_MAX];
		if (vs_path_fmt(path, sizeof(path), err, "%s/cgroup.procs", cg->h[i].dir) < 0 ||
		    vs_write_str(path, s, err) < 0)
			return vs_fail(err, err->code, "move pid %d into cgroup %s", (int)pid, cg->h[i].dir);
	}
	return 0;
}

/* The hierarchy whose membership freeze and kill act on. */
vs_cg_hier *vs_cg_procs_hier(vs_cgroup *cg)
{
	vs_cg_hier *h = vs_cg_find(cg, VS_CGC_FREEZER);
	if (!h)
		h = vs_cg_unified(cg);
	return h ? h : &cg->h[0];
}

int vs_cgroup_pids(vs_cgroup *cg, pid_t **pids, size_t *n, vs_err *err)
{
	char *s;
	if (vs_cg_read(vs_cg_procs_hier(cg)->dir, "cgroup.procs", &s, err) < 0)
		return -1;
	size_t cnt = 0, cap = 0;
	pid_t *v = NULL;
	for (char *save = NULL, *t = strtok_r(s, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		if (cnt == cap) {
			pid_t *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (!nv) {
				free(v);
				free(s);
				return vs_fail(err, ENOMEM, "list pids of cgroup %s", cg->path);
			}
			v = nv;
		}
		v[cnt++] = (pid_t)atoi(t);
	}
	free(s);
	*pids = v;
	*n = cnt;
	return 0;
}

int vs_cgroup_destroy(vs_cgroup *cg, vs_err *err)
{
	int rc = 0;
	for (size_t i = 0; i < cg->n; i++) {
		if (remove_tree(cg->h[i].dir) < 0 && rc == 0)
			rc = vs_fail(err, errno, "remove cgroup %s", cg->h[i].dir);
	}
	return rc;
}
