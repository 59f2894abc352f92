#include "platform/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "platform/db.h"
#include "platform/events.h"
#include "platform/http.h"
#include "platform/images.h"
#include "platform/instance.h"
#include "platform/ops.h"
#include "platform/snapshot.h"
#include "platform/supervise.h"
#include "platform/network.h"

static int setup_paths(vsd *d, const vsd_opts *o, vs_err *err)
{
	if (vs_mkdir_p(o->root, 0711, err) < 0)
		return -1;
	if (!realpath(o->root, d->root))
		return vs_fail(err, errno, "root %s", o->root);
	if (o->socket[0] != '/')
		return vs_fail(err, VS_EINVAL_CONFIG, "--socket %s: must be an absolute path", o->socket);
	snprintf(d->socket, sizeof(d->socket), "%s", o->socket);
	if (o->runtime) {
		if (!realpath(o->runtime, d->runtime))
			return vs_fail(err, errno, "--runtime %s", o->runtime);
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return vs_fail(err, errno, "readlink /proc/self/exe");
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		*slash = '\0';
		if (vs_path_fmt(d->runtime, sizeof(d->runtime), err, "%s/vessel", self) < 0)
			return -1;
	}
	if (access(d->runtime, X_OK) < 0)
		return vs_fail(err, errno, "runtime %s (give --runtime PATH)", d->runtime);
	const char *subs[] = {"layers", "instances", "runtime", "tmp"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char p[PATH_MAX];
		if (vsd_path(d, p, sizeof(p), err, "%s", subs[i]) < 0 || vs_mkdir_p(p, 0711, err) < 0)
			return -1;
	}
	/* Layers must be readable by containers with user namespaces later. */
	char layers[PATH_MAX];
	if (vsd_path(d, layers, sizeof(layers), err, "layers") == 0)
		chmod(layers, 0711);
	return vsd_path(d, d->rt_root, sizeof(d->rt_root), err, "runtime") < 0 ||
			       vsd_path(d, d->audit_path, sizeof(d->audit_path), err, "audit.log") < 0
		       ? -1 : 0;
}

/* The audit head from the database, reconciled with the file: a crash
 * between appending a line and saving the head leaves exactly one line
 * more, chained correctly; anything else is left for verify to report. */
static int load_audit(vsd *d, vs_err *err)
{
	vsd_audit_head_init(&d->audit);
	char *head = NULL;
	if (vsd_db_text(d->db, "SELECT value FROM meta WHERE key = 'audit_head'", 0, NULL, &head, err) < 0)
		return -1;
	unsigned long long seq;
	char hash[VSD_SHA256_HEX];
	if (head && sscanf(head, "%llu %64s", &seq, hash) == 2 && strlen(hash) == 64) {
		d->audit.seq = seq;
		memcpy(d->audit.hash, hash, VSD_SHA256_HEX);
	}
	free(head);
	vsd_audit_head file;
	vs_err serr = {0};
	if (vsd_audit_scan(d->audit_path, &file, &serr) == 0 && file.seq == d->audit.seq + 1) {
		vs_warn("audit log: adopting entry %llu written before a crash", (unsigned long long)file.seq);
		d->audit = file;
		return vsd_audit_record(d, &(vsd_audit_entry){.uid = (long long)getuid(), .method = "START",
				.path = "/", .summary = "vesseld adopted the last entry written before a crash", .result = "ok"}, err);
	}
	return 0;
}

int vsd_serve(const vsd_opts *o, vs_err *err)
{
	static vsd d; /* one per process, shared with every thread */
	memset(&d, 0, sizeof(d));
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.changed, NULL);
	/* Every thread inherits this: only sigwait below sees the signals. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The runtime commands vesseld runs must never turn back to vesseld
	 * (`vessel start|exec` fall back to it for names they do not know). */
	unsetenv("VESSEL_SOCKET");
	setenv("VESSEL_NO_CLIENT", "1", 1);

	char dbpath[PATH_MAX];
	if (setup_paths(&d, o, err) < 0 || vsd_path(&d, dbpath, sizeof(dbpath), err, "vesseld.db") < 0 ||
	    vsd_db_open(dbpath, &d.db, err) < 0)
		return -1;
	int rc = -1;
	vsd_http *h = NULL;
	if (load_audit(&d, err) < 0 || vsd_events_init(&d, err) < 0 || vsd_ops_init(&d, err) < 0)
		goto out;
	vsd_images_gc(&d);
	int running = 0;
	int adopted = vsd_inst_recover(&d, &running);
	vsd_snap_recover(&d);
	if (vsd_sup_start(&d, err) < 0)
		goto out;
	vsd_net_recover(&d);
	if (!(h = vsd_http_start(&d, err)))
		goto out;
	vs_info("vesseld: root %s, socket %s, runtime %s; %d instances adopted, %d running", d.root, d.socket,
		d.runtime, adopted, running);
	pthread_mutex_lock(&d.lock);
	vsd_audit_record(&d, &(vsd_audit_entry){.uid = (long long)getuid(), .method = "START", .path = "/",
			 .summary = "vesseld started", .result = "ok"}, NULL);
	pthread_mutex_unlock(&d.lock);
	int sig;
	sigwait(&sigs, &sig);
	vs_info("vesseld: signal %d: stopping (instances keep running)", sig);
	rc = 0;
out:
	pthread_mutex_lock(&d.lock);
	d.stopping = true;
	pthread_cond_broadcast(&d.changed);
	pthread_mutex_unlock(&d.lock);
	vsd_http_stop(h);
	if (d.ops)
		vsd_ops_drain(&d);
	vsd_sup_stop(&d); /* after the ops: their hooks talk to it */
	vsd_ops_free(&d);
	vsd_events_free(&d);
	vsd_db_close(d.db);
	return rc;
}
