/* Container state under --root (default /run/vessel): one directory per
 * container holding state.json (written atomically), a copy of config.json
 * and exec.fifo while the container is "created". Status is derived from
 * what is real (is the init process alive, is it still reading the fifo, is
 * the cgroup frozen), so a runtime killed half-way never leaves a state that the next
 * list/state/delete cannot handle. */
#ifndef VS_CTR_STATE_H
#define VS_CTR_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "oci/config.h"

typedef enum {
	VS_STATUS_CREATING,
	VS_STATUS_CREATED,
	VS_STATUS_RUNNING,
	VS_STATUS_PAUSED,
	VS_STATUS_STOPPED,
} vs_status;

typedef struct vs_state {
	char *id;
	char *bundle;
	char *rootfs;
	pid_t pid;                         /* host pid of the container's init; 0 while unknown */
	unsigned long long pid_start;      /* its start time (/proc/<pid>/stat field 22) against pid reuse */
	char *created;                     /* RFC 3339 */
	char *cgroup_path;
	bool systemd_cgroup;
	bool own_pidns;                    /* init is pid 1 of a new pid namespace */
	bool creating;                     /* create has not finished */
	char *owner;
	vs_kv *annotations;
	size_t n_annotations;
	char *dir;                         /* <root>/<id> */
} vs_state;

/* Container ids: [A-Za-z0-9_+.-]+, not "." or "..", at most 1024 bytes. */
int vs_id_validate(const char *id, vs_err *err);
/* Make <root>/<id>; fails with EEXIST "container <id> already exists". */
int vs_state_create_dir(const char *root, const char *id, char **dir, vs_err *err);
int vs_state_load(const char *root, const char *id, vs_state *st, vs_err *err);
int vs_state_save(const vs_state *st, vs_err *err);
void vs_state_clear(vs_state *st);
/* Remove the state directory (after the container is gone). */
int vs_state_remove(const vs_state *st, vs_err *err);

vs_status vs_state_status(const vs_state *st);
const char *vs_status_name(vs_status s);
/* The OCI state JSON (as `state` prints and hooks read). Caller frees. */
char *vs_state_json(const vs_state *st, vs_status status, bool pretty);
/* Ids of all containers under root (sorted). Caller frees with vs_strv_free. */
int vs_state_list(const char *root, char ***ids, vs_err *err);

/* Helpers on pids. */
unsigned long long vs_pid_start_time(pid_t pid); /* 0 if gone */
bool vs_pid_alive(pid_t pid, unsigned long long start);

/* Paths inside the state dir. */
#define VS_STATE_FILE "state.json"
#define VS_CONFIG_COPY "config.json"
#define VS_EXEC_FIFO "exec.fifo"

#endif
