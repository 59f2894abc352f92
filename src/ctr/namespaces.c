#include "ctr/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"

static const struct {
	int flag;
	const char *proc;
} ns_info[VS_NS_KINDS] = {
	[VS_NS_PID] = {CLONE_NEWPID, "pid"},       [VS_NS_NET] = {CLONE_NEWNET, "net"},
	[VS_NS_MNT] = {CLONE_NEWNS, "mnt"},        [VS_NS_IPC] = {CLONE_NEWIPC, "ipc"},
	[VS_NS_UTS] = {CLONE_NEWUTS, "uts"},       [VS_NS_USER] = {CLONE_NEWUSER, "user"},
	[VS_NS_CGROUP] = {CLONE_NEWCGROUP, "cgroup"}, [VS_NS_TIME] = {CLONE_NEWTIME, "time"},
};

int vs_ns_clone_flag(vs_ns_kind kind) { return ns_info[kind].flag; }
const char *vs_ns_proc_name(vs_ns_kind kind) { return ns_info[kind].proc; }

int vs_ns_open_paths(const vs_linux *lx, int fds[VS_NS_KINDS], vs_err *err)
{
	for (int k = 0; k < VS_NS_KINDS; k++)
		fds[k] = -1;
	for (int k = 0; k < VS_NS_KINDS; k++) {
		if (!lx->ns[k].enabled || !lx->ns[k].path)
			continue;
		fds[k] = open(lx->ns[k].path, O_RDONLY | O_CLOEXEC);
		if (fds[k] < 0) {
			int e = errno;
			for (int j = 0; j < k; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			return vs_fail(err, e, "open %s namespace %s", vs_ns_name((vs_ns_kind)k), lx->ns[k].path);
		}
	}
	return 0;
}

int vs_ns_join(int fds[VS_NS_KINDS], vs_err *err)
{
	/* The user namespace first: it grants the capabilities to join the others. */
	static const vs_ns_kind order[] = {VS_NS_USER, VS_NS_IPC, VS_NS_UTS, VS_NS_NET, VS_NS_PID,
					   VS_NS_CGROUP, VS_NS_TIME, VS_NS_MNT};
	int rc = 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		vs_ns_kind k = order[i];
		if (fds[k] < 0)
			continue;
		if (rc == 0 && setns(fds[k], ns_info[k].flag) < 0)
			rc = vs_fail(err, errno, "join %s namespace", vs_ns_name(k));
		close(fds[k]);
		fds[k] = -1;
	}
	return rc;
}

int vs_ns_new_flags(const vs_linux *lx)
{
	int flags = 0;
	for (int k = 0; k < VS_NS_KINDS; k++)
		if (k != VS_NS_USER && lx->ns[k].enabled && !lx->ns[k].path)
			flags |= ns_info[k].flag;
	return flags;
}

static int write_map(pid_t pid, const char *file, const vs_id_map *m, size_t n, vs_err *err)
{
	char buf[4096], path[64];
	size_t off = 0;
	for (size_t i = 0; i < n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", m[i].container_id, m[i].host_id,
					m[i].size);
	if (off >= sizeof(buf))
		return vs_fail(err, E2BIG, "linux.%s: too many mappings", file);
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return vs_write_file(path, buf, off, 0, err);
}

int vs_ns_write_id_maps(pid_t pid, const vs_linux *lx, vs_err *err)
{
	if (write_map(pid, "uid_map", lx->uid_mappings, lx->n_uid_mappings, err) < 0)
		return -1;
	return write_map(pid, "gid_map", lx->gid_mappings, lx->n_gid_mappings, err);
}

int vs_ns_write_time_offsets(const vs_linux *lx, vs_err *err)
{
	char buf[128];
	int n = 0;
	if (lx->time_monotonic.set)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "monotonic %lld %u\n",
			      (long long)lx->time_monotonic.secs, lx->time_monotonic.nanosecs);
	if (lx->time_boottime.set)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "boottime %lld %u\n",
			      (long long)lx->time_boottime.secs, lx->time_boottime.nanosecs);
	if (n == 0)
		return 0;
	/* The file takes one clock per write. */
	char *line = buf;
	while (*line) {
		char *nl = strchr(line, '\n');
		*nl = 0;
		if (vs_write_str("/proc/self/timens_offsets", line, err) < 0)
			return vs_wrap(err, "linux.timeOffsets");
		line = nl + 1;
	}
	return 0;
}

int vs_ns_open_of_pid(pid_t pid, int fds[VS_NS_KINDS], vs_err *err)
{
	for (int k = 0; k < VS_NS_KINDS; k++)
		fds[k] = -1;
	for (int k = 0; k < VS_NS_KINDS; k++) {
		char theirs[64], ours[64];
		struct stat a, b;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", pid, ns_info[k].proc);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns_info[k].proc);
		if (stat(theirs, &a) < 0) {
			if (errno == ENOENT && k == VS_NS_TIME)
				continue; /* kernel without time namespaces */
			int e = errno;
			for (int j = 0; j < k; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			return vs_fail(err, e, "stat %s", theirs);
		}
		if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		fds[k] = open(theirs, O_RDONLY | O_CLOEXEC);
		if (fds[k] < 0) {
			int e = errno;
			for (int j = 0; j < k; j++)
				if (fds[j] >= 0)
					close(fds[j]);
			return vs_fail(err, e, "open %s", theirs);
		}
	}
	return 0;
}
