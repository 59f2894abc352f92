/* ps, update, events: commands that look at or change a running container's cgroup. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "cmd/commands.h"
#include "hybrid/hybrid.h"
#include "cmd/opts.h"
#include "ctr/cgroup.h"
#include "ctr/container.h"

static int open_container_cgroup(vs_global *g, const char *id, vs_state *st, vs_cgroup **cg, vs_err *err)
{
	*cg = NULL;
	if (vs_state_load(g->root, id, st, err) < 0)
		return -1;
	if (!st->cgroup_path)
		return vs_fail(err, ENOENT, "container %s has no cgroup", id);
	if (vs_cgroup_open(st->cgroup_path, id, false, cg, err) < 0) {
		vs_state_clear(st);
		return -1;
	}
	return 0;
}

/* Table output as runc: host `ps` (default -ef) filtered to the container's pids. */
static int ps_table(pid_t *pids, size_t n, int argc, char **argv)
{
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		char *args[64] = {"ps"};
		int k = 1;
		if (argc == 0)
			args[k++] = "-ef";
		for (int i = 0; i < argc && k < 63; i++)
			args[k++] = argv[i];
		args[k] = NULL;
		execvp("ps", args);
		_exit(127);
	}
	close(pipefd[1]);
	FILE *f = fdopen(pipefd[0], "r");
	char line[4096];
	int pid_col = -1;
	while (f && fgets(line, sizeof(line), f)) {
		if (pid_col < 0) {
			/* Find which column is PID in the header. */
			char copy[4096], *save = NULL;
			snprintf(copy, sizeof(copy), "%s", line);
			int col = 0;
			for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
				if (!strcmp(t, "PID"))
					pid_col = col;
			fputs(line, stdout);
			if (pid_col < 0)
				break;
			continue;
		}
		char copy[4096], *save = NULL, *t;
		snprintf(copy, sizeof(copy), "%s", line);
		t = strtok_r(copy, " \t\n", &save);
		for (int c = 0; t && c < pid_col; c++)
			t = strtok_r(NULL, " \t\n", &save);
		pid_t p = t ? atoi(t) : 0;
		for (size_t i = 0; i < n; i++)
			if (pids[i] == p)
				fputs(line, stdout);
	}
	if (f)
		fclose(f);
	int st;
	waitpid(child, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* The guest's processes of a VM-isolated container: guest pids, as the
 * agent lists them ("PID COMM" lines, checked by the protocol). */
static int hybrid_ps(vs_global *g, const char *id, const char *format)
{
	char *text;
	size_t len;
	vs_err err = {0};
	if (vs_hyb_ps(g->root, id, &text, &len, &err) < 0)
		return vs_cmd_fail(&err);
	bool json = !strcmp(format, "json");
	if (json)
		printf("[");
	else
		printf("PID   CMD\n");
	int k = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int pid = atoi(line);
		const char *cmd = strchr(line, ' ');
		if (json)
			printf("%s%d", k++ ? "," : "", pid);
		else
			printf("%-5d %s\n", pid, cmd ? cmd + 1 : "");
	}
	if (json)
		printf("]\n");
	free(text);
	return 0;
}

VS_CMD(ps)
{
	const char *format = "table";
	vs_opt opts[] = {{"format", 'f', OPT_STR, &format}, {0}};
	int i = vs_opts_parse_id("ps", argc, argv, opts);
	if (i < 0)
		return 2;
	vs_err err = {0};
	vs_state st;
	vs_cgroup *cg;
	if (vs_cmd_is_vm(g, argv[i]))
		return hybrid_ps(g, argv[i], format);
	if (open_container_cgroup(g, argv[i], &st, &cg, &err) < 0)
		return vs_cmd_fail(&err);
	pid_t *pids = NULL;
	size_t n = 0;
	int rc = 0;
	if (vs_state_status(&st) == VS_STATUS_STOPPED) {
		/* nothing runs: an empty list */
	} else if (vs_cgroup_pids(cg, &pids, &n, &err) < 0) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	if (!strcmp(format, "json")) {
		printf("[");
		for (size_t k = 0; k < n; k++)
			printf("%s%d", k ? "," : "", pids[k]);
		printf("]\n");
	} else {
		rc = ps_table(pids, n, argc - i - 1, argv + i + 1);
	}
out:
	free(pids);
	vs_cgroup_free(cg);
	vs_state_clear(&st);
	return rc;
}

/* "512m", "1G", "1024" -> bytes (docker units, binary); -1 stays -1 (unlimited). */
static int parse_bytes(const char *s, int64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s)
		return -1;
	int64_t mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1LL << 10; end++; break;
	case 'm': case 'M': mult = 1LL << 20; end++; break;
	case 'g': case 'G': mult = 1LL << 30; end++; break;
	case 't': case 'T': mult = 1LL << 40; end++; break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	*out = (int64_t)(v * (double)mult);
	return 0;
}

typedef struct {
	const char *name;
	vs_opt_i64 *i64;
	vs_opt_u64 *u64;
	bool bytes;
	const char *value;
} num_flag;

VS_CMD(update)
{
	const char *resources = NULL, *cpus = NULL, *mems = NULL, *l3 = NULL, *membw = NULL;
	vs_resources r = {0};
	num_flag nf[] = {
		{"blkio-weight", NULL, &r.blkio_weight, false, NULL},
		{"cpu-period", NULL, &r.cpu_period, false, NULL},
		{"cpu-quota", &r.cpu_quota, NULL, false, NULL},
		{"cpu-share", NULL, &r.cpu_shares, false, NULL},
		{"cpu-rt-period", NULL, &r.cpu_realtime_period, false, NULL},
		{"cpu-rt-runtime", &r.cpu_realtime_runtime, NULL, false, NULL},
		{"memory", &r.mem_limit, NULL, true, NULL},
		{"memory-reservation", &r.mem_reservation, NULL, true, NULL},
		{"memory-swap", &r.mem_swap, NULL, true, NULL},
		{"kernel-memory", &r.mem_kernel, NULL, true, NULL},
		{"kernel-memory-tcp", &r.mem_kernel_tcp, NULL, true, NULL},
		{"pids-limit", &r.pids_limit, NULL, false, NULL},
	};
	size_t nnf = sizeof(nf) / sizeof(nf[0]);
	vs_opt opts[32] = {
		{"resources", 'r', OPT_STR, &resources},
		{"cpuset-cpus", 0, OPT_STR, &cpus},
		{"cpuset-mems", 0, OPT_STR, &mems},
		{"l3-cache-schema", 0, OPT_STR, &l3},
		{"mem-bw-schema", 0, OPT_STR, &membw},
	};
	for (size_t k = 0; k < nnf; k++)
		opts[5 + k] = (vs_opt){nf[k].name, 0, OPT_STR, &nf[k].value};
	int i = vs_opts_parse_id("update", argc, argv, opts);
	if (i < 0)
		return 2;
	vs_err err = {0};
	if (l3 || membw)
		return vs_cmd_fail(&(vs_err){VS_ENOTSUP_HOST, "update: Intel RDT (--l3-cache-schema, --mem-bw-schema)"});
	if (resources) {
		char *buf;
		size_t len;
		if ((!strcmp(resources, "-") ? vs_read_fd(0, "stdin", VS_CONFIG_MAX, &buf, &len, &err)
					     : vs_read_regular(resources, VS_CONFIG_MAX, &buf, &len, &err)) < 0)
			return vs_cmd_fail(&err);
		int rc = vs_resources_parse(buf, len, &r, &err);
		free(buf);
		if (rc < 0)
			return vs_cmd_fail(&err);
	}
	for (size_t k = 0; k < nnf; k++) {
		if (!nf[k].value)
			continue;
		int64_t v;
		char *end;
		if (nf[k].bytes ? parse_bytes(nf[k].value, &v) < 0 : (v = strtoll(nf[k].value, &end, 10), *end != 0)) {
			fprintf(stderr, "vessel update: invalid value '%s' for --%s\n", nf[k].value, nf[k].name);
			vs_resources_clear(&r);
			return 2;
		}
		if (nf[k].i64)
			*nf[k].i64 = (vs_opt_i64){true, v};
		else if (v < 0) {
			fprintf(stderr, "vessel update: --%s must not be negative\n", nf[k].name);
			vs_resources_clear(&r);
			return 2;
		} else
			*nf[k].u64 = (vs_opt_u64){true, (uint64_t)v};
	}
	if (cpus)
		r.cpu_cpus = strdup(cpus);
	if (mems)
		r.cpu_mems = strdup(mems);
	vs_state st;
	vs_cgroup *cg;
	int rc = 0;
	if (open_container_cgroup(g, argv[i], &st, &cg, &err) < 0) {
		rc = vs_cmd_fail(&err);
	} else {
		if (vs_state_status(&st) == VS_STATUS_STOPPED)
			rc = vs_cmd_fail(&(vs_err){EINVAL, "update: container is stopped"});
		else if (vs_cgroup_apply(cg, &r, &err) < 0)
			rc = vs_cmd_fail(&err);
		vs_cgroup_free(cg);
		vs_state_clear(&st);
	}
	vs_resources_clear(&r);
	return rc;
}

static void print_stats(const char *id, const vs_cgroup_stats *s)
{
	printf("{\"type\":\"stats\",\"id\":\"%s\",\"data\":{"
	       "\"cpu\":{\"usage\":{\"total\":%llu,\"user\":%llu,\"kernel\":%llu}},"
	       "\"memory\":{\"usage\":{\"usage\":%llu,\"limit\":%llu,\"max\":%llu,\"failcnt\":%llu}},"
	       "\"pids\":{\"current\":%llu,\"limit\":%llu}}}\n",
	       id, s->cpu_usage_ns, s->cpu_user_ns, s->cpu_kernel_ns, s->mem_usage, s->mem_limit, s->mem_max_usage,
	       s->mem_failcnt, s->pids_current, s->pids_limit);
	fflush(stdout);
}

VS_CMD(events)
{
	bool stats = false;
	const char *interval = "5s";
	vs_opt opts[] = {{"stats", 0, OPT_BOOL, &stats}, {"interval", 0, OPT_STR, &interval}, {0}};
	int i = vs_opts_parse_id("events", argc, argv, opts);
	if (i < 0)
		return 2;
	double secs = strtod(interval, NULL);
	if (secs <= 0)
		secs = 5;
	vs_err err = {0};
	bool vm = vs_cmd_is_vm(g, argv[i]);
	for (;;) {
		vs_state st;
		vs_cgroup *cg;
		if (vm) {
			vs_hyb_stats_out h;
			if (vs_hyb_stats(g->root, argv[i], &h, &err) < 0)
				return vs_cmd_fail(&err);
			vs_cgroup_stats s = {.cpu_usage_ns = h.cpu_usage_ns, .cpu_user_ns = h.cpu_user_ns,
					     .cpu_kernel_ns = h.cpu_kernel_ns, .mem_usage = h.mem_usage,
					     .mem_limit = h.mem_limit, .pids_current = h.pids_current};
			print_stats(argv[i], &s);
			if (stats || h.stopped)
				return 0;
			usleep((useconds_t)(secs * 1e6));
			continue;
		}
		if (open_container_cgroup(g, argv[i], &st, &cg, &err) < 0)
			return vs_cmd_fail(&err);
		bool stopped = vs_state_status(&st) == VS_STATUS_STOPPED;
		vs_cgroup_stats s = {0};
		int rc = vs_cgroup_stats_read(cg, &s, &err);
		vs_cgroup_free(cg);
		vs_state_clear(&st);
		if (rc < 0)
			return vs_cmd_fail(&err);
		print_stats(argv[i], &s);
		if (stats || stopped)
			return 0;
		usleep((useconds_t)(secs * 1e6));
	}
}
