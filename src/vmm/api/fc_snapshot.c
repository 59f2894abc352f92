/* Firecracker's PUT /snapshot/create and PUT /snapshot/load. The API
 * thread opens the files itself (its seccomp filter allows openat; the
 * engine's jailed threads open nothing) and hands the descriptors to the
 * engine, which runs the snapshot or restore on the VMM thread. Neither
 * file is truncated here: the engine first checks that the memory file is
 * not the one the VM's memory is mapped from. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/api/fc.h"
#include "vmm/api/fc_body.h"

static int open_file(const char *what, const char *path, int flags, vs_err *err)
{
	/* O_NONBLOCK: a FIFO named here must not hang the API thread (a
	 * regular file, the only kind the engine takes, ignores it). */
	int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0)
		vs_fail(err, errno, "%s: open %s", what, path);
	return fd;
}

int vs_fc_snapshot_create(vs_vmm *m, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"snapshot_type", "snapshot_path", "mem_file_path", "version", NULL};
	const char *w = "snapshot/create", *type = NULL, *state, *mem, *version;
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_str(o, w, "snapshot_path", true, &state, err) < 0 ||
	    vs_fc_get_str(o, w, "mem_file_path", true, &mem, err) < 0 ||
	    vs_fc_get_str(o, w, "snapshot_type", false, &type, err) < 0 ||
	    vs_fc_get_str(o, w, "version", false, &version, err) < 0)
		return -1;
	vs_vmm_snap_type t = VS_VMM_SNAP_FULL;
	if (type && !strcmp(type, "Diff"))
		t = VS_VMM_SNAP_DIFF;
	else if (type && strcmp(type, "Full"))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: snapshot_type \"%.32s\" (Full or Diff)", w, type);
	if (!*state || !*mem || !strcmp(state, mem))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: snapshot_path and mem_file_path must be two files", w);
	/* Refused before any file is created. */
	if (vs_vmm_state_of(m) != VS_VMM_PAUSED)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: the VM must be paused first (PATCH /vm {\"state\": \"Paused\"})", w);
	vs_vmm_snap_files f = {.state_path = state, .mem_path = mem, .state_fd = -1, .mem_fd = -1};
	int r = -1;
	if ((f.state_fd = open_file(w, state, O_WRONLY | O_CREAT, err)) >= 0 &&
	    (f.mem_fd = open_file(w, mem, O_WRONLY | O_CREAT, err)) >= 0)
		r = vs_vmm_snapshot(m, &f, t, err);
	if (f.state_fd >= 0)
		close(f.state_fd);
	if (f.mem_fd >= 0)
		close(f.mem_fd);
	return r;
}

int vs_fc_snapshot_load(vs_vmm *m, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"snapshot_path", "mem_file_path", "mem_backend", "enable_diff_snapshots",
					    "track_dirty_pages", "resume_vm", NULL};
	static const char *const backend_keys[] = {"backend_path", "backend_type", NULL};
	const char *w = "snapshot/load", *state, *mem = NULL, *btype = NULL;
	bool diff = false, track = false, resume = false;
	struct json_object *backend;
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_str(o, w, "snapshot_path", true, &state, err) < 0 ||
	    vs_fc_get_str(o, w, "mem_file_path", false, &mem, err) < 0 ||
	    vs_fc_get(o, w, "mem_backend", json_type_object, false, &backend, err) < 0 ||
	    vs_fc_get_bool(o, w, "enable_diff_snapshots", false, &diff, err) < 0 ||
	    vs_fc_get_bool(o, w, "track_dirty_pages", false, &track, err) < 0 ||
	    vs_fc_get_bool(o, w, "resume_vm", false, &resume, err) < 0)
		return -1;
	if (!!mem == !!backend)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: give exactly one of mem_backend and mem_file_path", w);
	if (backend) {
		const char *bw = "snapshot/load mem_backend";
		if (vs_fc_only_keys(backend, bw, backend_keys, err) < 0 ||
		    vs_fc_get_str(backend, bw, "backend_path", true, &mem, err) < 0 ||
		    vs_fc_get_str(backend, bw, "backend_type", true, &btype, err) < 0)
			return -1;
		if (!strcmp(btype, "Uffd"))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: backend_type Uffd is not supported (only File)", bw);
		if (strcmp(btype, "File"))
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: backend_type \"%.32s\" (File)", bw, btype);
	}
	if (vs_vmm_state_of(m) != VS_VMM_NOT_STARTED)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: only before the VM starts", w);
	vs_vmm_snap_files f = {.state_path = state, .mem_path = mem, .state_fd = -1, .mem_fd = -1};
	int r = -1;
	if ((f.state_fd = open_file(w, state, O_RDONLY, err)) >= 0 && (f.mem_fd = open_file(w, mem, O_RDONLY, err)) >= 0)
		r = vs_vmm_restore(m, &f, resume, diff || track, err);
	if (f.state_fd >= 0)
		close(f.state_fd);
	if (f.mem_fd >= 0)
		close(f.mem_fd);
	return r;
}
