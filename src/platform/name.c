#include "platform/name.h"

#include <string.h>

int vsd_name_check(const char *name, const char *what, vs_err *err)
{
	if (!name || !*name)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: must not be empty", what);
	size_t n = strlen(name);
	if (n > VSD_NAME_MAX)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s %.20s...: longer than %d characters", what, name,
			       VSD_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return vs_fail(err, VS_EINVAL_CONFIG,
				       "%s \"%.64s\": only lower-case letters, digits and '-' are allowed", what,
				       name);
	}
	if (name[0] == '-' || name[n - 1] == '-')
		return vs_fail(err, VS_EINVAL_CONFIG, "%s \"%s\": must not start or end with '-'", what, name);
	return 0;
}
