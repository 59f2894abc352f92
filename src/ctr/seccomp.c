/* linux.seccomp -> a libseccomp filter. Semantics follow runc where the
 * runtime-spec leaves room: SCMP_ACT_ERRNO/TRACE without errnoRet return
 * EPERM, unknown syscall names are skipped, rules that repeat the default
 * action are skipped, and several conditions on the same argument index turn
 * every condition of that rule into a rule of its own. */
#include "ctr/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

#define MAX_SYSCALL_ARGS 6

static const char *action_name(vs_seccomp_action a)
{
	static const char *names[] = {
		[VS_SCMP_KILL] = "SCMP_ACT_KILL",       [VS_SCMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
		[VS_SCMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD", [VS_SCMP_TRAP] = "SCMP_ACT_TRAP",
		[VS_SCMP_ERRNO] = "SCMP_ACT_ERRNO",     [VS_SCMP_TRACE] = "SCMP_ACT_TRACE",
		[VS_SCMP_ALLOW] = "SCMP_ACT_ALLOW",     [VS_SCMP_LOG] = "SCMP_ACT_LOG",
		[VS_SCMP_NOTIFY] = "SCMP_ACT_NOTIFY",
	};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

/* The libseccomp action for (action, errnoRet); fails on values libseccomp
 * cannot express. `what` names the rule in messages. */
static int resolve_action(vs_seccomp_action a, bool has_ret, uint32_t ret, const char *what, uint32_t *out,
			  vs_err *err)
{
	if ((unsigned)a > VS_SCMP_NOTIFY)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: unknown action %d", what, (int)a);
	if (has_ret && a != VS_SCMP_ERRNO && a != VS_SCMP_TRACE)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: errnoRet is not supported with %s", what,
			       action_name(a));
	if (has_ret && ret > 0xffff) /* the filter's return data is 16 bits */
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: errnoRet %u out of range", what, ret);
	uint32_t code = has_ret ? ret : EPERM;
	switch (a) {
	case VS_SCMP_KILL:
	case VS_SCMP_KILL_THREAD: *out = SCMP_ACT_KILL_THREAD; break;
	case VS_SCMP_KILL_PROCESS: *out = SCMP_ACT_KILL_PROCESS; break;
	case VS_SCMP_TRAP: *out = SCMP_ACT_TRAP; break;
	case VS_SCMP_ERRNO: *out = SCMP_ACT_ERRNO(code); break;
	case VS_SCMP_TRACE: *out = SCMP_ACT_TRACE(code); break;
	case VS_SCMP_ALLOW: *out = SCMP_ACT_ALLOW; break;
	case VS_SCMP_LOG: *out = SCMP_ACT_LOG; break;
	case VS_SCMP_NOTIFY: *out = SCMP_ACT_NOTIFY; break;
	}
	return 0;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token; libseccomp's names are the
 * lowercase suffix ("x86_64", "aarch64", "mipsel64n32"). */
static int resolve_arch(const char *name, uint32_t *out, vs_err *err)
{
	static const char prefix[] = "SCMP_ARCH_";
	char low[32];
	size_t n = strlen(name);
	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 || n - (sizeof(prefix) - 1) >= sizeof(low))
		return vs_fail(err, VS_EINVAL_CONFIG, "seccomp architecture %s: unknown", name);
	const char *s = name + sizeof(prefix) - 1;
	size_t i = 0;
	for (; s[i]; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[i] = 0;
	*out = seccomp_arch_resolve_name(low);
	if (*out == 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "seccomp architecture %s: unknown", name);
	return 0;
}

/* A linux.seccomp.flags entry -> the filter attribute that sets it. */
typedef struct {
	const char *name;
	int attr;         /* enum scmp_filter_attr; -1 = this libseccomp cannot set it */
	unsigned min_api; /* seccomp_api_get() level the attribute needs */
} flag_info;

static const flag_info flag_table[] = {
	{"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC, 2},
	{"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG, 3},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB, 4},
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SCMP_FLTATR_CTL_WAITKILL, 7},
#else
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", -1, 0},
#endif
};

static int resolve_flag(const char *name, const flag_info **out, vs_err *err)
{
	for (size_t i = 0; i < sizeof(flag_table) / sizeof(flag_table[0]); i++) {
		const flag_info *f = &flag_table[i];
		if (strcmp(f->name, name) != 0)
			continue;
		if (f->attr < 0)
			return vs_fail(err, VS_ENOTSUP_HOST, "seccomp flag %s (libseccomp %d.%d.%d)", name,
				       SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO);
		if (seccomp_api_get() < f->min_api)
			return vs_fail(err, VS_ENOTSUP_HOST, "seccomp flag %s (seccomp API level %u)", name,
				       seccomp_api_get());
		*out = f;
		return 0;
	}
	return vs_fail(err, VS_EINVAL_CONFIG, "seccomp flag %s: unknown", name);
}

static int check_rule(const vs_seccomp_rule *r, size_t idx, vs_err *err)
{
	char what[64];
	snprintf(what, sizeof(what), "linux.seccomp.syscalls[%zu]", idx);
	if (!r->names || !r->names[0])
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: names is empty", what);
	uint32_t act;
	if (resolve_action(r->action, r->has_errno_ret, r->errno_ret, what, &act, err) < 0)
		return -1;
	if (r->action == VS_SCMP_NOTIFY && seccomp_api_get() < 5)
		return vs_fail(err, VS_ENOTSUP_HOST, "%s: SCMP_ACT_NOTIFY (seccomp API level %u)", what,
			       seccomp_api_get());
	for (size_t i = 0; i < r->n_args; i++) {
		if (r->args[i].index >= MAX_SYSCALL_ARGS)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s.args[%zu]: index %u out of range (0-5)", what,
				       i, r->args[i].index);
		if ((unsigned)r->args[i].op > VS_SCMP_OP_MASKED_EQ)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s.args[%zu]: unknown operator %d", what, i,
				       (int)r->args[i].op);
	}
	return 0;
}

int vs_seccomp_check(const vs_seccomp *sc, vs_err *err)
{
	uint32_t act, arch;
	const flag_info *flag;
	if (resolve_action(sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret,
			   "linux.seccomp.defaultAction", &act, err) < 0)
		return -1;
	if (sc->default_action == VS_SCMP_NOTIFY)
		return vs_fail(err, VS_EINVAL_CONFIG, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not allowed");
	for (char **a = sc->architectures; a && *a; a++)
		if (resolve_arch(*a, &arch, err) < 0)
			return -1;
	for (char **f = sc->flags; f && *f; f++)
		if (resolve_flag(*f, &flag, err) < 0)
			return -1;
	for (size_t i = 0; i < sc->n_rules; i++)
		if (check_rule(&sc->rules[i], i, err) < 0)
			return -1;
	return 0;
}

static enum scmp_compare compare_op(vs_seccomp_op op)
{
	switch (op) {
	case VS_SCMP_OP_NE: return SCMP_CMP_NE;
	case VS_SCMP_OP_LT: return SCMP_CMP_LT;
	case VS_SCMP_OP_LE: return SCMP_CMP_LE;
	case VS_SCMP_OP_EQ: return SCMP_CMP_EQ;
	case VS_SCMP_OP_GE: return SCMP_CMP_GE;
	case VS_SCMP_OP_GT: return SCMP_CMP_GT;
	case VS_SCMP_OP_MASKED_EQ: return SCMP_CMP_MASKED_EQ;
	}
	return _SCMP_CMP_MIN; /* unreachable after vs_seccomp_check */
}

/* True if two conditions of the rule test the same argument. */
static bool repeats_an_index(const vs_seccomp_rule *r)
{
	unsigned seen = 0;
	for (size_t i = 0; i < r->n_args; i++) {
		unsigned bit = 1u << r->args[i].index;
		if (seen & bit)
			return true;
		seen |= bit;
	}
	return false;
}

static int add_syscall(scmp_filter_ctx ctx, const vs_seccomp_rule *r, uint32_t act, const char *name,
		       vs_err *err)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR) {
		vs_debug("seccomp: syscall %s is unknown to libseccomp, skipped", name);
		return 0;
	}
	struct scmp_arg_cmp cmp[MAX_SYSCALL_ARGS];
	int rc = 0;
	if (repeats_an_index(r)) {
		/* One condition per rule: a match on any of them applies the action. */
		for (size_t i = 0; i < r->n_args && rc == 0; i++) {
			const vs_seccomp_arg *a = &r->args[i];
			cmp[0] = (struct scmp_arg_cmp){a->index, compare_op(a->op), a->value, a->value_two};
			rc = seccomp_rule_add_array(ctx, act, nr, 1, cmp);
		}
	} else {
		/* At most one condition per index, so n_args <= 6; all must match. */
		for (size_t i = 0; i < r->n_args; i++) {
			const vs_seccomp_arg *a = &r->args[i];
			cmp[i] = (struct scmp_arg_cmp){a->index, compare_op(a->op), a->value, a->value_two};
		}
		rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)r->n_args, cmp);
	}
	if (rc < 0)
		return vs_fail(err, -rc, "seccomp rule %s for syscall %s", action_name(r->action), name);
	return 0;
}

static int build(scmp_filter_ctx ctx, const vs_seccomp *sc, uint32_t def, bool *has_notify, vs_err *err)
{
	int rc;
	/* The caller decides about no_new_privs (process.noNewPrivileges). */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		return vs_fail(err, -rc, "seccomp: clear the no_new_privs attribute");
	for (char **a = sc->architectures; a && *a; a++) {
		uint32_t arch;
		if (resolve_arch(*a, &arch, err) < 0)
			return -1;
		rc = seccomp_arch_add(ctx, arch);
		if (rc < 0 && rc != -EEXIST) /* the native arch is already in */
			return vs_fail(err, -rc, "seccomp: add architecture %s", *a);
	}
	for (char **f = sc->flags; f && *f; f++) {
		const flag_info *flag;
		if (resolve_flag(*f, &flag, err) < 0)
			return -1;
		if ((rc = seccomp_attr_set(ctx, (enum scmp_filter_attr)flag->attr, 1)) < 0)
			return vs_fail(err, -rc, "seccomp: set flag %s", *f);
	}
	for (size_t i = 0; i < sc->n_rules; i++) {
		const vs_seccomp_rule *r = &sc->rules[i];
		uint32_t act;
		if (resolve_action(r->action, r->has_errno_ret, r->errno_ret, "seccomp rule", &act, err) < 0)
			return -1;
		if (act == def) /* libseccomp refuses rules that change nothing */
			continue;
		*has_notify |= r->action == VS_SCMP_NOTIFY;
		for (char **n = r->names; *n; n++)
			if (add_syscall(ctx, r, act, *n, err) < 0)
				return -1;
	}
	return 0;
}

int vs_seccomp_compile(const vs_seccomp *sc, vs_seccomp_filter **out, vs_err *err)
{
	*out = NULL;
	if (vs_seccomp_check(sc, err) < 0)
		return -1;
	uint32_t def;
	resolve_action(sc->default_action, sc->has_default_errno_ret, sc->default_errno_ret, "", &def, err);
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return vs_fail(err, ENOMEM, "seccomp: create filter");
	bool has_notify = false;
	if (build(ctx, sc, def, &has_notify, err) < 0) {
		seccomp_release(ctx);
		return -1;
	}
	*out = (vs_seccomp_filter *)ctx;
	return 0;
}

int vs_seccomp_install(vs_seccomp_filter *f, vs_err *err)
{
	int rc = seccomp_load((scmp_filter_ctx)f);
	if (rc < 0)
		return vs_fail(err, -rc, "seccomp: load filter");
	return 0;
}

void vs_seccomp_filter_free(vs_seccomp_filter *f)
{
	if (f)
		seccomp_release((scmp_filter_ctx)f);
}

int vs_seccomp_load(const vs_seccomp *sc, int *notify_fd, vs_err *err)
{
	if (notify_fd)
		*notify_fd = -1;
	vs_seccomp_filter *f;
	if (vs_seccomp_compile(sc, &f, err) < 0)
		return -1;
	int ret = vs_seccomp_install(f, err);
	if (ret == 0) {
		/* libseccomp keeps a listener fd in its global state when a rule
		 * notifies; the caller owns it now. */
		int fd = seccomp_notify_fd((scmp_filter_ctx)f);
		if (fd >= 0 && notify_fd)
			*notify_fd = fd;
		else if (fd >= 0)
			close(fd);
	}
	vs_seccomp_filter_free(f);
	return ret;
}
