/* The default guest kernel: Debian's newest, with its modules installed
 * (the agent's initramfs carries modules of that release). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "hybrid/hybrid.h"

/* Version order, as `sort -V` for release strings like 6.1.0-57-amd64. */
static int vercmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			unsigned long x = 0, y = 0;
			while (*a >= '0' && *a <= '9')
				x = x * 10 + (unsigned long)(*a++ - '0');
			while (*b >= '0' && *b <= '9')
				y = y * 10 + (unsigned long)(*b++ - '0');
			if (x != y)
				return x < y ? -1 : 1;
		} else if (*a != *b) {
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		} else {
			a++, b++;
		}
	}
	return *a ? 1 : *b ? -1 : 0;
}

int vs_hyb_default_kernel(char *path, size_t len, char *rel, size_t rel_len, vs_err *err)
{
	DIR *d = opendir("/boot");
	if (!d)
		return vs_fail(err, errno, "open /boot (looking for a guest kernel; --vm-kernel names one)");
	char best[256] = "";
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "vmlinuz-", 8) || strlen(e->d_name + 8) >= sizeof(best))
			continue;
		char dep[512];
		snprintf(dep, sizeof(dep), "/lib/modules/%s/modules.dep", e->d_name + 8);
		if (access(dep, R_OK) == 0 && (!best[0] || vercmp(e->d_name + 8, best) > 0))
			snprintf(best, sizeof(best), "%s", e->d_name + 8);
	}
	closedir(d);
	if (!best[0])
		return vs_fail(err, ENOENT, "no /boot/vmlinuz-* with its /lib/modules (install linux-image-amd64, "
					    "or name a kernel with --vm-kernel)");
	if (vs_path_fmt(path, len, err, "/boot/vmlinuz-%s", best) < 0)
		return -1;
	if (strlen(best) >= rel_len)
		return vs_fail(err, ENAMETOOLONG, "kernel release %s", best);
	memcpy(rel, best, strlen(best) + 1);
	return 0;
}
