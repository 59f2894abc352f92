/* `run` of a VM-isolated container: <root>/<id>/ holds the disk image and
 * the vsock sockets while it runs, and nothing after. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/state.h"
#include "hybrid/hybrid.h"
#include "hybrid/proto.h"
#include "oci/config.h"

/* How long the agent may take: to boot and connect (a nested, emulated
 * host takes tens of seconds), to say HELLO, to create the container,
 * and to finish a message it has begun. */
#define BOOT_MS (600 * 1000)
#define HELLO_MS (30 * 1000)
#define READY_MS (120 * 1000)
#define REST_MS (10 * 1000)

static int listen_unix(const char *path, vs_err *err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return vs_fail(err, ENAMETOOLONG, "socket path %s", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return vs_fail(err, errno, "socket for %s", path);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) {
		int e = errno;
		close(s);
		return vs_fail(err, e, "listen on %s", path);
	}
	return s;
}

/* The agent's connection, or an error when the VMM ends first. */
static int accept_agent(int ls, const vs_hyb_vm *vm, vs_err *err)
{
	struct pollfd p[2] = {{.fd = ls, .events = POLLIN}, {.fd = vm->pidfd, .events = POLLIN}};
	for (;;) {
		int r = poll(p, 2, BOOT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vs_fail(err, errno, "wait for the agent");
		if (r == 0)
			return vs_fail(err, ETIMEDOUT, "the agent did not connect within %d s", BOOT_MS / 1000);
		if (p[1].revents)
			return vs_fail(err, ECHILD, "the VM stopped before its agent connected");
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			return c;
		if (errno != EINTR && errno != ECONNABORTED)
			return vs_fail(err, errno, "accept the agent");
	}
}

/* state.json while it runs, as for a plain container: `state` and `list`
 * show it, with the VMM process as its pid. */
static int save_state(const vs_hyb_opts *o, const vs_config *cfg, const char *dir, pid_t pid, vs_err *err)
{
	struct timespec ts;
	struct tm tm;
	char now[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(now + n, sizeof(now) - n, ".%09ldZ", ts.tv_nsec);
	vs_state st = {.id = strdup(o->id), .bundle = strdup(o->bundle), .rootfs = strdup(cfg->root_path),
		       .pid = pid, .pid_start = vs_pid_start_time(pid), .created = strdup(now), .owner = strdup(""),
		       .dir = strdup(dir), .annotations = calloc(1, sizeof(vs_kv)), .n_annotations = 1};
	if (st.annotations) {
		st.annotations[0].key = strdup(VS_HYB_ANNOTATION);
		st.annotations[0].value = strdup("vm");
	}
	int rc = -1;
	if (!st.id || !st.bundle || !st.rootfs || !st.created || !st.owner || !st.dir || !st.annotations ||
	    !st.annotations[0].key || !st.annotations[0].value)
		vs_fail(err, ENOMEM, "state of %s", o->id);
	else
		rc = vs_state_save(&st, err);
	vs_state_clear(&st);
	return rc;
}

int vs_hyb_run(const vs_hyb_opts *o, int *status, vs_err *err)
{
	vs_config *cfg = NULL;
	char *json = NULL, *dir = NULL, image[4096], uds[4096], port_uds[4200], path[4096];
	size_t json_len;
	int rc = -1, ls = -1, conn = -1;
	vs_hyb_vm vm = {.pid = -1, .pidfd = -1, .msg_fd = -1};
	if (vs_config_load(o->bundle, &cfg, err) < 0)
		return -1;
	if (cfg->has_process && cfg->process.terminal) {
		vs_fail(err, VS_EINVAL_CONFIG, "process.terminal: a terminal is not supported with VM isolation yet "
					       "(set it to false)");
		goto out_cfg;
	}
	if (vs_path_fmt(path, sizeof(path), err, "%s/config.json", o->bundle) < 0 ||
	    vs_read_regular(path, VS_PROTO_CONFIG_MAX, &json, &json_len, err) < 0)
		goto out_cfg;
	/* The id is checked there, before it names anything. */
	if (vs_state_create_dir(o->root, o->id, &dir, err) < 0)
		goto out_cfg;
	if (vs_path_fmt(image, sizeof(image), err, "%s/rootfs.ext4", dir) < 0 ||
	    vs_path_fmt(uds, sizeof(uds), err, "%s/vsock", dir) < 0 ||
	    vs_path_fmt(port_uds, sizeof(port_uds), err, "%s_%u", uds, VS_PROTO_PORT) < 0)
		goto out_dir;
	if (strlen(port_uds) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		vs_fail(err, ENAMETOOLONG, "vsock socket %s: the state dir path is too long for a socket", port_uds);
		goto out_dir;
	}
	if (vs_hyb_image_build(cfg->root_path, image, err) < 0 || (ls = listen_unix(port_uds, err)) < 0)
		goto out_dir;
	vs_hyb_vm_cfg vc = {.kernel = o->kernel, .initrd = o->initrd, .disk = image, .uds = uds, .cpus = o->cpus,
			    .mem = o->mem, .console = o->console, .console_fd = o->err_fd, .allow_pvm = o->allow_pvm};
	if (vs_hyb_vm_spawn(&vc, &vm, err) < 0 || save_state(o, cfg, dir, vm.pid, err) < 0 ||
	    (conn = accept_agent(ls, &vm, err)) < 0)
		goto out_vm;
	close(ls), ls = -1;
	vs_hyb_io io = {.in_fd = o->in_fd, .out_fd = o->out_fd, .err_fd = o->err_fd, .sig_fd = o->sig_fd,
			.vmm_pidfd = vm.pidfd, .hello_ms = HELLO_MS, .ready_ms = READY_MS, .rest_ms = REST_MS};
	rc = vs_hyb_session(conn, json, json_len, &io, status, err);
out_vm:
	if (conn >= 0)
		close(conn);
	if (ls >= 0)
		close(ls);
	if (vm.pid > 0) {
		/* The VMM's own reason, when it ended first, says more than ours. */
		vs_err verr = {0};
		bool ended = rc < 0 && err->code == ECHILD;
		vs_hyb_vm_end(&vm, !ended, &verr);
		if (ended && verr.code)
			*err = verr;
	}
out_dir:
	vs_rmtree(dir, NULL);
	free(dir);
out_cfg:
	free(json);
	vs_config_free(cfg);
	return rc;
}
