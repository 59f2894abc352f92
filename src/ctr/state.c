#include "ctr/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "ctr/cgroup.h"

int vs_id_validate(const char *id, vs_err *err)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return vs_fail(err, EINVAL, "invalid container id '%s'", id);
	for (const char *p = id; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '+' || c == '-' || c == '.'))
			return vs_fail(err, EINVAL, "invalid container id '%s': only [A-Za-z0-9_+.-] allowed", id);
	}
	return 0;
}

int vs_state_create_dir(const char *root, const char *id, char **dir, vs_err *err)
{
	if (vs_id_validate(id, err) < 0)
		return -1;
	char path[PATH_MAX];
	if (vs_path_fmt(path, sizeof(path), err, "%s/%s", root, id) < 0)
		return -1;
	/* The root is there but for the first container. */
	int rc = mkdir(path, 0711);
	if (rc < 0 && errno == ENOENT) {
		if (vs_mkdir_p(root, 0711, err) < 0)
			return -1;
		rc = mkdir(path, 0711);
	}
	if (rc < 0) {
		if (errno == EEXIST)
			return vs_fail(err, EEXIST, "container %s already exists", id);
		return vs_fail(err, errno, "mkdir %s", path);
	}
	*dir = strdup(path);
	return 0;
}

unsigned long long vs_pid_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC); /* not stdio: three syscalls, not five */
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1); /* /proc gives it whole in one read */
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	/* comm may contain spaces and parens: parse after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return 0; /* a zombie has exited: the container is stopped */
	unsigned long long start = 0;
	/* fields after ")": state(3) ... starttime(22): skip 19 fields after state */
	p += 3;
	for (int field = 4; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

bool vs_pid_alive(pid_t pid, unsigned long long start)
{
	if (pid <= 0)
		return false;
	unsigned long long now = vs_pid_start_time(pid);
	return now != 0 && (start == 0 || now == start);
}

static char *dup_or_null(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return strdup(json_object_get_string(v));
	return NULL;
}

static long long get_int(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

int vs_state_load(const char *root, const char *id, vs_state *st, vs_err *err)
{
	memset(st, 0, sizeof(*st));
	if (vs_id_validate(id, err) < 0)
		return -1;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	if (vs_path_fmt(dir, sizeof(dir), err, "%s/%s", root, id) < 0)
		return -1;
	struct stat sb;
	if (stat(dir, &sb) < 0)
		return vs_fail(err, ENOENT, "container %s does not exist", id);
	st->id = strdup(id);
	st->dir = strdup(dir);
	snprintf(path, sizeof(path), "%s/" VS_STATE_FILE, dir);
	struct json_object *o;
	vs_err jerr = {0};
	if (vs_json_parse_file(path, &o, &jerr) < 0) {
		/* Killed before the first save: a container that is stopped and can only be deleted. */
		st->creating = true;
		return 0;
	}
	st->bundle = dup_or_null(o, "bundle");
	st->rootfs = dup_or_null(o, "rootfs");
	st->created = dup_or_null(o, "created");
	st->owner = dup_or_null(o, "owner");
	st->pid = (pid_t)get_int(o, "pid");
	struct json_object *priv, *ann;
	if (json_object_object_get_ex(o, "vessel", &priv)) {
		st->pid_start = (unsigned long long)get_int(priv, "pidStart");
		st->cgroup_path = dup_or_null(priv, "cgroupPath");
		st->systemd_cgroup = get_int(priv, "systemdCgroup");
		st->own_pidns = get_int(priv, "ownPidns");
		st->creating = get_int(priv, "creating");
	}
	if (json_object_object_get_ex(o, "annotations", &ann) && json_object_is_type(ann, json_type_object)) {
		size_t n = (size_t)json_object_object_length(ann), i = 0;
		st->annotations = calloc(n ? n : 1, sizeof(vs_kv));
		json_object_object_foreach(ann, k, v)
		{
			st->annotations[i].key = strdup(k);
			st->annotations[i].value = strdup(json_object_get_string(v));
			i++;
		}
		st->n_annotations = i;
	}
	json_object_put(o);
	return 0;
}

static struct json_object *state_object(const vs_state *st, vs_status status, bool private_fields)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(status == VS_STATUS_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "status", json_object_new_string(vs_status_name(status)));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle ? st->bundle : ""));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs ? st->rootfs : ""));
	json_object_object_add(o, "created", json_object_new_string(st->created ? st->created : ""));
	json_object_object_add(o, "owner", json_object_new_string(st->owner ? st->owner : ""));
	if (st->n_annotations) {
		struct json_object *a = json_object_new_object();
		for (size_t i = 0; i < st->n_annotations; i++)
			json_object_object_add(a, st->annotations[i].key,
					       json_object_new_string(st->annotations[i].value));
		json_object_object_add(o, "annotations", a);
	}
	if (private_fields) {
		struct json_object *p = json_object_new_object();
		json_object_object_add(p, "pidStart", json_object_new_int64((int64_t)st->pid_start));
		if (st->cgroup_path)
			json_object_object_add(p, "cgroupPath", json_object_new_string(st->cgroup_path));
		json_object_object_add(p, "systemdCgroup", json_object_new_int(st->systemd_cgroup));
		json_object_object_add(p, "ownPidns", json_object_new_int(st->own_pidns));
		json_object_object_add(p, "creating", json_object_new_int(st->creating));
		json_object_object_add(o, "vessel", p);
	}
	return o;
}

int vs_state_save(const vs_state *st, vs_err *err)
{
	struct json_object *o = state_object(st, st->creating ? VS_STATUS_CREATING : VS_STATUS_CREATED, true);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char path[PATH_MAX];
	if (vs_path_fmt(path, sizeof(path), err, "%s/" VS_STATE_FILE, st->dir) < 0) {
		json_object_put(o);
		return -1;
	}
	int rc = vs_write_file_atomic(path, s, strlen(s), 0600, err);
	json_object_put(o);
	return rc;
}

char *vs_state_json(const vs_state *st, vs_status status, bool pretty)
{
	struct json_object *o = state_object(st, status, false);
	char *s = strdup(json_object_to_json_string_ext(
		o, pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

void vs_state_clear(vs_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->cgroup_path);
	free(st->owner);
	free(st->dir);
	for (size_t i = 0; i < st->n_annotations; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	memset(st, 0, sizeof(*st));
}

int vs_state_remove(const vs_state *st, vs_err *err)
{
	/* What a started container leaves there, by name (the state last): a
	 * walk of the directory costs twice the syscalls. Anything else (the
	 * fifo of one never started, a stray temporary) gets the walk. */
	static const char *const names[] = {VS_CONFIG_COPY, VS_STATE_FILE};
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (vs_path_fmt(path, sizeof(path), NULL, "%s/%s", st->dir, names[i]) == 0)
			unlink(path);
	if (rmdir(st->dir) == 0 || errno == ENOENT)
		return 0;
	return vs_rmtree(st->dir, err);
}

/* "created" means the init is still blocked reading exec.fifo. Its fd is
 * the only reader left once create has returned, and it closes it as soon
 * as `start`'s byte arrives: so a fifo that no longer has a reader (open
 * for writing fails with ENXIO) is a start that happened, even if the
 * `start` that did it was killed before it could unlink the fifo. */
static bool init_waits_on_fifo(const char *dir)
{
	char fifo[PATH_MAX];
	if (vs_path_fmt(fifo, sizeof(fifo), NULL, "%s/" VS_EXEC_FIFO, dir) < 0)
		return false;
	int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		struct stat sb;
		bool is_fifo = fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode);
		close(fd);
		return is_fifo;
	}
	/* ENXIO: no reader; ENOENT: start removed it. Anything else (EACCES
	 * for a caller that may not open it) falls back to "it exists". */
	return errno != ENXIO && errno != ENOENT && access(fifo, F_OK) == 0;
}

vs_status vs_state_status(const vs_state *st)
{
	if (!vs_pid_alive(st->pid, st->pid_start))
		return VS_STATUS_STOPPED;
	if (st->creating)
		return VS_STATUS_CREATING;
	if (init_waits_on_fifo(st->dir))
		return VS_STATUS_CREATED;
	vs_cgroup *cg = NULL;
	bool frozen = false;
	if (st->cgroup_path && vs_cgroup_open(st->cgroup_path, st->id, false, &cg, NULL) == 0) {
		vs_cgroup_is_frozen(cg, &frozen, NULL);
		vs_cgroup_free(cg);
	}
	return frozen ? VS_STATUS_PAUSED : VS_STATUS_RUNNING;
}

const char *vs_status_name(vs_status s)
{
	static const char *names[] = {"creating", "created", "running", "paused", "stopped"};
	return names[s];
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vs_state_list(const char *root, char ***ids, vs_err *err)
{
	*ids = calloc(1, sizeof(char *));
	DIR *d = opendir(root);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return vs_fail(err, errno, "open state directory %s", root);
	}
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || vs_id_validate(e->d_name, NULL) < 0)
			continue;
		char **nv = realloc(*ids, sizeof(char *) * (n + 2));
		if (!nv)
			break;
		*ids = nv;
		nv[n++] = strdup(e->d_name);
		nv[n] = NULL;
	}
	closedir(d);
	qsort(*ids, n, sizeof(char *), cmp_str);
	return 0;
}
