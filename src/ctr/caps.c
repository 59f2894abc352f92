/* process.capabilities and process.user with raw capget/capset/prctl: the
 * five sets are plain bitmasks already, so libcap would only add a
 * text-format layer we do not need. */
#include "ctr/caps.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"

_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "additional_gids is passed to setgroups as is");

/* The kernel's highest capability; newer than this build's headers is fine. */
static int kernel_last_cap(void)
{
	static int last = -1;
	if (last >= 0)
		return last;
	last = CAP_LAST_CAP;
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[16] = {0};
		if (read(fd, buf, sizeof(buf) - 1) > 0 && atoi(buf) > 0 && atoi(buf) < 64)
			last = atoi(buf);
		close(fd);
	}
	return last;
}

static uint64_t known_caps(void)
{
	int last = kernel_last_cap();
	return last >= 63 ? ~0ull : (1ull << (last + 1)) - 1;
}

static const char *cap_str(int cap, char *buf, size_t len)
{
	const char *name = vs_cap_name(cap);
	if (name)
		return name;
	snprintf(buf, len, "capability %d", cap);
	return buf;
}

/* A requested set restricted to what this kernel knows (as runc does, caps
 * the kernel lacks are ignored rather than fatal). */
static uint64_t requested(const vs_process *p, int set)
{
	uint64_t unknown = p->caps[set] & ~known_caps();
	if (unknown)
		vs_debug("capabilities 0x%llx unknown to this kernel, ignored", (unsigned long long)unknown);
	return p->caps[set] & known_caps();
}

int vs_caps_prepare(const vs_process *p, vs_err *err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return vs_fail(err, errno, "prctl PR_SET_KEEPCAPS");
	if (!p->has_caps)
		return 0;
	uint64_t bnd = requested(p, VS_CAP_BOUNDING);
	for (int cap = 0; cap <= kernel_last_cap(); cap++) {
		if (bnd & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			char b[32];
			return vs_fail(err, errno, "drop %s from the bounding set", cap_str(cap, b, sizeof(b)));
		}
	}
	return 0;
}

/* In a user namespace whose /proc/self/setgroups says "deny", setgroups()
 * always fails; the groups are then whatever the namespace was entered with. */
static bool setgroups_denied(void)
{
	char buf[8] = {0};
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 4 && strncmp(buf, "deny", 4) == 0;
}

int vs_caps_switch_user(const vs_process *p, vs_err *err)
{
	/* (uid_t)-1 is "leave unchanged" to setres[ug]id: the process would stay
	 * root. The parsers refuse such ids; this is the last line. */
	if (p->uid > INT32_MAX || p->gid > INT32_MAX)
		return vs_fail(err, EINVAL, "switch to uid %u gid %u: ids above %d are refused", p->uid, p->gid, INT32_MAX);
	for (size_t i = 0; i < p->n_additional_gids; i++)
		if (p->additional_gids[i] > INT32_MAX)
			return vs_fail(err, EINVAL, "additional gid %u: ids above %d are refused", p->additional_gids[i],
				       INT32_MAX);
	/* Always called, also with no additional gids: clears the runtime's own
	 * groups. /proc/self/setgroups is read only when it fails. */
	if (setgroups(p->n_additional_gids, (const gid_t *)p->additional_gids) < 0) {
		if (errno != EPERM || !setgroups_denied())
			return vs_fail(err, errno, "setgroups to %zu additional gids", p->n_additional_gids);
		if (p->n_additional_gids)
			vs_debug("setgroups is denied in this user namespace; additionalGids not applied");
	}
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return vs_fail(err, errno, "setresgid to gid %u", p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return vs_fail(err, errno, "setresuid to uid %u", p->uid);
	return 0;
}

/* The calling thread's permitted and bounding sets, for error messages. */
static void held_caps(uint64_t *perm, uint64_t *bnd)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {0};
	*perm = *bnd = ~0ull;
	if (syscall(SYS_capget, &hdr, data) == 0)
		*perm = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	for (int cap = 0; cap <= kernel_last_cap(); cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			*bnd &= ~(1ull << cap);
}

static int capset_sets(uint64_t eff, uint64_t perm, uint64_t inh, vs_err *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {
		{.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
		{.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32),
		 .inheritable = (uint32_t)(inh >> 32)},
	};
	if (syscall(SYS_capset, &hdr, data) == 0)
		return 0;
	int e = errno;
	/* Name the usual causes rather than print masks. */
	uint64_t had, bnd;
	char b[32];
	held_caps(&had, &bnd);
	if (perm & ~had)
		return vs_fail(err, e, "capset: %s is not held by the runtime",
			       cap_str(__builtin_ctzll(perm & ~had), b, sizeof(b)));
	if (inh & ~bnd)
		return vs_fail(err, e, "capset: inheritable %s is not in the bounding set",
			       cap_str(__builtin_ctzll(inh & ~bnd), b, sizeof(b)));
	return vs_fail(err, e, "capset effective=0x%llx permitted=0x%llx inheritable=0x%llx",
		       (unsigned long long)eff, (unsigned long long)perm, (unsigned long long)inh);
}

/* can: the caps that may be raised (permitted and inheritable); the kernel
 * refuses the others with EPERM, so they are not asked for. */
static int set_ambient(uint64_t amb, uint64_t can, vs_err *err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (errno == EINVAL && amb == 0) /* kernel without ambient caps: nothing to clear */
			return 0;
		return vs_fail(err, errno, "clear the ambient capabilities");
	}
	for (int cap = 0; cap <= kernel_last_cap(); cap++) {
		if (!(amb & (1ull << cap)))
			continue;
		/* EPERM: not in both the permitted and the inheritable set. runc's
		 * own `spec` asks for that (no inheritable set); as in runc, not fatal. */
		if (!(can & (1ull << cap)))
			errno = EPERM;
		if (!(can & (1ull << cap)) || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
			char b[32];
			vs_debug("cannot raise ambient capability %s: %s", cap_str(cap, b, sizeof(b)), strerror(errno));
		}
	}
	return 0;
}

int vs_caps_apply(const vs_process *p, uint64_t held_until_exec, vs_err *err)
{
	uint64_t held = held_until_exec & known_caps();
	if (p->has_caps) {
		uint64_t perm = requested(p, VS_CAP_PERMITTED) | held, inh = requested(p, VS_CAP_INHERITABLE);
		if (capset_sets(requested(p, VS_CAP_EFFECTIVE) | held, perm, inh, err) < 0 ||
		    set_ambient(requested(p, VS_CAP_AMBIENT), perm & inh, err) < 0)
			return -1;
	} else if (p->uid != 0) {
		/* KEEPCAPS kept the permitted set across setresuid; a non-root
		 * process without process.capabilities gets none. */
		if (capset_sets(held, held, 0, err) < 0 || set_ambient(0, 0, err) < 0)
			return -1;
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return vs_fail(err, errno, "prctl PR_SET_KEEPCAPS 0");
	return 0;
}
