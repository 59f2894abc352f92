/* `events --stats` of a VM-isolated container, as the host sees it: CPU
 * time and resident memory of its keeper and VMM processes (guest RAM
 * the guest has touched included), the guest's memory as the limit (the
 * VMM's machine-config), and the container's processes in the guest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "ctr/state.h"
#include "hybrid/hybrid.h"

/* utime, stime (ns) and RSS (bytes) of one process; false if gone. */
static bool proc_usage(pid_t pid, unsigned long long *user, unsigned long long *sys, unsigned long long *rss)
{
	char path[64], *buf;
	size_t len;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (pid <= 0 || vs_read_file(path, &buf, &len, NULL) < 0)
		return false;
	/* Fields after the command (which may hold spaces): from the last ')'. */
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0, pages = 0;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	bool ok = p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %*u %llu",
			      &ut, &st, &pages) == 3;
	free(buf);
	if (ok) {
		*user += ut * 1000000000ull / (unsigned long long)tick;
		*sys += st * 1000000000ull / (unsigned long long)tick;
		*rss += pages * (unsigned long long)page;
	}
	return ok;
}

int vs_hyb_stats(const char *root, const char *id, vs_hyb_stats_out *s, vs_err *err)
{
	vs_state st;
	if (vs_state_load(root, id, &st, err) < 0)
		return -1;
	memset(s, 0, sizeof(*s));
	vs_hyb_paths p;
	int rc = vs_hyb_paths_of(st.dir, &p, err);
	s->stopped = vs_state_status(&st) == VS_STATUS_STOPPED;
	if (rc == 0 && !s->stopped) {
		char *buf;
		size_t len;
		int vmm = 0;
		if (vs_read_file(p.vmm_pid, &buf, &len, NULL) == 0) {
			vmm = atoi(buf);
			free(buf);
		}
		proc_usage(st.pid, &s->cpu_user_ns, &s->cpu_kernel_ns, &s->mem_usage);
		proc_usage(vmm, &s->cpu_user_ns, &s->cpu_kernel_ns, &s->mem_usage);
		s->cpu_usage_ns = s->cpu_user_ns + s->cpu_kernel_ns;
		char body[1024];
		int code;
		const char *m;
		if (vs_hyb_api(p.api, "GET", "/machine-config", NULL, &code, body, sizeof(body), NULL) == 0 && code == 200 &&
		    (m = strstr(body, "\"mem_size_mib\":")))
			s->mem_limit = strtoull(m + 15, NULL, 10) << 20;
		char *text;
		if (vs_hyb_ps(root, id, &text, &len, NULL) == 0) {
			for (size_t i = 0; i < len; i++)
				s->pids_current += text[i] == '\n';
			free(text);
		}
	}
	vs_state_clear(&st);
	return rc;
}
