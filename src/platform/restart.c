#include "platform/restart.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vsd_restart_parse(const char *s, vsd_restart_policy *p, vs_err *err)
{
	memset(p, 0, sizeof(*p));
	if (!s)
		s = "";
	if (!strcmp(s, "no"))
		p->kind = VSD_RESTART_NO;
	else if (!strcmp(s, "always"))
		p->kind = VSD_RESTART_ALWAYS;
	else if (!strcmp(s, "unless-stopped"))
		p->kind = VSD_RESTART_UNLESS_STOPPED;
	else if (!strncmp(s, "on-failure", 10) && (s[10] == '\0' || s[10] == ':')) {
		p->kind = VSD_RESTART_ON_FAILURE;
		if (s[10] == ':') {
			const char *n = s + 11;
			char *end;
			errno = 0;
			unsigned long v = strtoul(n, &end, 10);
			if (*n < '0' || *n > '9' || *end || errno || v > VSD_RESTART_MAX_LIMIT)
				return vs_fail(err, VS_EINVAL_CONFIG,
					       "restart policy \"%.40s\": the count after on-failure: must be a whole number, 0 to %u",
					       s, VSD_RESTART_MAX_LIMIT);
			p->max = (unsigned)v;
		}
	} else {
		return vs_fail(err, VS_EINVAL_CONFIG,
			       "restart policy \"%.40s\": expected no, on-failure[:MAX], always or unless-stopped", s);
	}
	return 0;
}

const char *vsd_restart_name(vsd_restart_kind k)
{
	switch (k) {
	case VSD_RESTART_ON_FAILURE:
		return "on-failure";
	case VSD_RESTART_ALWAYS:
		return "always";
	case VSD_RESTART_UNLESS_STOPPED:
		return "unless-stopped";
	default:
		return "no";
	}
}

bool vsd_restart_should(const vsd_restart_policy *p, vsd_restart_why why, int exit_code, bool user_stopped,
			unsigned restarts)
{
	switch (p->kind) {
	case VSD_RESTART_ALWAYS:
		return why == VSD_WHY_DAEMON_START || !user_stopped;
	case VSD_RESTART_UNLESS_STOPPED:
		return !user_stopped;
	case VSD_RESTART_ON_FAILURE:
		if (user_stopped || exit_code == 0)
			return false;
		return p->max == 0 || restarts < p->max;
	default:
		return false;
	}
}

long vsd_restart_backoff_ms(unsigned consecutive)
{
	long ms = VSD_BACKOFF_FIRST_MS;
	for (unsigned i = 0; i < consecutive && ms < VSD_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms > VSD_BACKOFF_MAX_MS ? VSD_BACKOFF_MAX_MS : ms;
}
