/* Device access rules. v1 has devices.allow/deny; v2 has no files for
 * this, only BPF_PROG_TYPE_CGROUP_DEVICE programs, so we compile the rules
 * into one. Both start from deny-all, apply the config's rules in order
 * (the last matching rule wins) and then allow the devices every OCI
 * container gets, as runc does. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "ctr/cgroup_internal.h"

static const vs_device_rule defaults[] = {
	{true, 'c', -1, -1, "m"},  {true, 'b', -1, -1, "m"},   /* mknod of anything; opening is checked */
	{true, 'c', 1, 3, "rwm"},  {true, 'c', 1, 5, "rwm"},   /* null, zero */
	{true, 'c', 1, 7, "rwm"},  {true, 'c', 1, 8, "rwm"},   /* full, random */
	{true, 'c', 1, 9, "rwm"},  {true, 'c', 5, 0, "rwm"},   /* urandom, tty */
	{true, 'c', 5, 1, "rwm"},  {true, 'c', 5, 2, "rwm"},   /* console, ptmx */
	{true, 'c', 136, -1, "rwm"},                            /* pts */
};
#define N_DEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

/* Rule i of the combined list: the config's, then the defaults. */
static const vs_device_rule *rule_at(const vs_resources *r, size_t i)
{
	return i < r->n_devices ? &r->devices[i] : &defaults[i - r->n_devices];
}

static const char *access_of(const vs_device_rule *d)
{
	return d->access[0] ? d->access : "rwm";
}

static void label(char *buf, size_t len, const vs_resources *r, size_t i)
{
	if (i < r->n_devices)
		snprintf(buf, len, "devices[%zu]", i);
	else
		snprintf(buf, len, "devices(OCI default %zu)", i - r->n_devices);
}

/* One write per rule (the kernel parses each write as one rule), but one
 * open per file: this runs on every create, with the 14 default rules. */
static int write_rule(int fd[2], const char *dir, bool allow, const char *line, const char *what, vs_err *err)
{
	const char *file = allow ? "devices.allow" : "devices.deny";
	char path[PATH_MAX];
	if (vs_path_fmt(path, sizeof(path), err, "%s/%s", dir, file) < 0)
		return -1;
	int *f = &fd[allow];
	if (*f < 0 && (*f = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return vs_fail(err, errno, "linux.resources.%s: open %s", what, path);
	ssize_t w;
	do
		w = write(*f, line, strlen(line));
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return vs_fail(err, errno, "linux.resources.%s: write %s to %s", what, line, path);
	return 0;
}

int vs_cg_v1_devices(const char *dir, const vs_resources *r, vs_err *err)
{
	int fd[2] = {-1, -1}; /* devices.deny, devices.allow */
	int rc = write_rule(fd, dir, false, "a", "devices (reset to deny-all)", err);
	bool allowed = false;
	for (size_t i = 0; rc == 0 && i < r->n_devices + N_DEFAULTS; i++) {
		const vs_device_rule *d = rule_at(r, i);
		if (d->type == 'a' && !d->allow && !allowed)
			continue; /* the spec's usual first rule, deny-all: what the reset just did */
		allowed |= d->allow;
		char line[64], maj[24] = "*", min[24] = "*", what[48];
		if (d->major >= 0)
			snprintf(maj, sizeof(maj), "%" PRId64, d->major);
		if (d->minor >= 0)
			snprintf(min, sizeof(min), "%" PRId64, d->minor);
		/* v1 reads a leading "a" as "everything", whatever follows. */
		snprintf(line, sizeof(line), "%c %s:%s %s", d->type, maj, min, access_of(d));
		label(what, sizeof(what), r, i);
		rc = write_rule(fd, dir, d->allow, line, what, err);
	}
	for (int k = 0; k < 2; k++)
		if (fd[k] >= 0)
			close(fd[k]);
	return rc;
}

/* ---- v2: the BPF program ---- */

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define ALU32_K(op, d, i) INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define MOV32_X(d, s) INSN(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define JNE32_K(d, i) INSN(BPF_JMP32 | BPF_JNE | BPF_K, d, 0, 0, i) /* off patched later */
#define JNE32_X(d, s) INSN(BPF_JMP32 | BPF_JNE | BPF_X, d, s, 0, 0)
#define EXIT_WITH(v) INSN(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, v), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static unsigned access_bits(const char *a)
{
	return (strchr(a, 'm') ? BPF_DEVCG_ACC_MKNOD : 0) | (strchr(a, 'r') ? BPF_DEVCG_ACC_READ : 0) |
	       (strchr(a, 'w') ? BPF_DEVCG_ACC_WRITE : 0);
}

/* Emit one rule: a block of tests that jump past it on mismatch, then
 * "return allow". Returns the number of instructions written; *always is
 * set when the rule matches everything (later code would be unreachable,
 * which the verifier refuses). */
static size_t emit_rule(struct bpf_insn *out, const vs_device_rule *d, bool *always)
{
	size_t n = 0;
	unsigned acc = access_bits(access_of(d));
	const unsigned all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
	if (d->type != 'a')
		out[n++] = JNE32_K(BPF_REG_2, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	if (acc != all) { /* every requested bit must be in the rule */
		out[n++] = MOV32_X(BPF_REG_1, BPF_REG_3);
		out[n++] = ALU32_K(BPF_AND, BPF_REG_1, (int32_t)acc);
		out[n++] = JNE32_X(BPF_REG_1, BPF_REG_3);
	}
	if (d->type != 'a' && d->major >= 0)
		out[n++] = JNE32_K(BPF_REG_4, (int32_t)d->major);
	if (d->type != 'a' && d->minor >= 0)
		out[n++] = JNE32_K(BPF_REG_5, (int32_t)d->minor);
	*always = n == 0;
	size_t tests = n;
	out[n++] = INSN(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, d->allow ? 1 : 0);
	out[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (size_t j = 0; j < tests; j++) /* mismatch: skip to the end of this block */
		if (BPF_CLASS(out[j].code) == BPF_JMP32)
			out[j].off = (int16_t)(n - j - 1);
	return n;
}

static struct bpf_insn *compile(const vs_resources *r, size_t *count)
{
	size_t rules = r->n_devices + N_DEFAULTS;
	struct bpf_insn *p = calloc(8 + rules * 9, sizeof(*p)), *w = p;
	if (!p)
		return NULL;
	/* r2 = type, r3 = access, r4 = major, r5 = minor (bpf_cgroup_dev_ctx) */
	*w++ = LDX_W(BPF_REG_2, BPF_REG_1, 0);
	*w++ = ALU32_K(BPF_AND, BPF_REG_2, 0xffff);
	*w++ = LDX_W(BPF_REG_3, BPF_REG_1, 0);
	*w++ = ALU32_K(BPF_RSH, BPF_REG_3, 16);
	*w++ = LDX_W(BPF_REG_4, BPF_REG_1, 4);
	*w++ = LDX_W(BPF_REG_5, BPF_REG_1, 8);
	bool always = false;
	for (size_t i = rules; i-- > 0 && !always;) /* last rule first: the first hit decides */
		w += emit_rule(w, rule_at(r, i), &always);
	if (!always) {
		struct bpf_insn deny[] = {EXIT_WITH(0)};
		memcpy(w, deny, sizeof(deny));
		w += 2;
	}
	*count = (size_t)(w - p);
	return p;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int load(const struct bpf_insn *insns, size_t n, vs_err *err)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uintptr_t) "Apache-2.0";
	int fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		return fd;
	int e = errno;
	/* Load again with the verifier's log, for the debug log only. */
	static char log[16384];
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	log[0] = 0;
	if ((fd = sys_bpf(BPF_PROG_LOAD, &a)) >= 0)
		return fd;
	vs_debug("bpf verifier: %s", log);
	return vs_fail(err, e, "linux.resources.devices: load the BPF device program (%zu instructions)", n);
}

/* Attach the new program, then detach the ones it replaces. While both
 * are attached the stricter answer wins, so there is no allow-all window. */
static int attach(const char *dir, int prog, vs_err *err)
{
	int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return vs_fail(err, errno, "linux.resources.devices: open %s", dir);
	uint32_t old[64];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)cg;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uintptr_t)old;
	a.query.prog_cnt = 64;
	uint32_t n_old = sys_bpf(BPF_PROG_QUERY, &a) == 0 ? a.query.prog_cnt : 0;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cg;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) {
		int e = errno;
		close(cg);
		return vs_fail(err, e, "linux.resources.devices: attach the BPF device program to %s", dir);
	}
	for (uint32_t i = 0; i < n_old && i < 64; i++) {
		memset(&a, 0, sizeof(a));
		a.prog_id = old[i];
		int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&a, 0, sizeof(a));
		a.target_fd = (uint32_t)cg;
		a.attach_bpf_fd = (uint32_t)fd;
		a.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &a) < 0)
			vs_warn("cgroup %s: detach old device program %u: %s", dir, old[i], strerror(errno));
		close(fd);
	}
	close(cg);
	return 0;
}

int vs_cg_v2_devices(const char *dir, const vs_resources *r, vs_err *err)
{
	size_t n;
	struct bpf_insn *insns = compile(r, &n);
	if (!insns)
		return vs_fail(err, ENOMEM, "linux.resources.devices: compile %zu rules", r->n_devices);
	int prog = load(insns, n, err);
	free(insns);
	if (prog < 0)
		return -1;
	int rc = attach(dir, prog, err);
	close(prog); /* the cgroup holds its own reference */
	return rc;
}
