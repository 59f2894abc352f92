/* The host's capacity for GET /1.0/resources: online CPUs and memory,
 * read from files under the probe's root prefix (fixtures in tests). */
#include "host/hostinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *open_at(const char *root, const char *path)
{
	char buf[4096];
	if (root && *root && strcmp(root, "/")) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s%s", root, path) >= sizeof(buf))
			return NULL;
		path = buf;
	}
	return fopen(path, "re");
}

/* "0-3,6,8-9" -> 7; 0 if malformed. */
static unsigned count_cpu_list(const char *s)
{
	unsigned n = 0;
	while (*s && *s != '\n') {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			return 0;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || b < a)
				return 0;
		}
		if (b - a >= 65536)
			return 0;
		n += (unsigned)(b - a + 1);
		s = end;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return 0;
	}
	return n;
}

void vs_host_probe_capacity(const char *root, vs_hostinfo *h)
{
	h->cpus_online = 0;
	h->mem_total = h->mem_available = h->swap_total = h->swap_free = 0;
	char line[256];
	FILE *f = open_at(root, "/sys/devices/system/cpu/online");
	if (f) {
		if (fgets(line, sizeof(line), f))
			h->cpus_online = count_cpu_list(line);
		fclose(f);
	}
	f = open_at(root, "/proc/meminfo");
	if (!f)
		return;
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{"MemTotal:", offsetof(vs_hostinfo, mem_total)},
		{"MemAvailable:", offsetof(vs_hostinfo, mem_available)},
		{"SwapTotal:", offsetof(vs_hostinfo, swap_total)},
		{"SwapFree:", offsetof(vs_hostinfo, swap_free)},
	};
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i].key);
			unsigned long long kb;
			char unit[8] = "";
			if (!strncmp(line, keys[i].key, kl) && sscanf(line + kl, "%llu %7s", &kb, unit) >= 1 &&
			    kb < (1ULL << 50))
				*(unsigned long long *)((char *)h + keys[i].off) = kb * (strcmp(unit, "kB") ? 1 : 1024);
		}
	}
	fclose(f);
}
