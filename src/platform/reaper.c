#include "platform/reaper.h"

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* State and parent from /proc/<pid>/stat (the comm may hold spaces). */
static int stat_of(const char *pid, char *state, long *ppid)
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%s/stat", pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	return rp && sscanf(rp + 1, " %c %ld", state, ppid) == 2 ? 0 : -1;
}

/* Is it in a nested pid namespace but not that namespace's init? */
static bool nested_not_init(const char *pid)
{
	char p[64], line[256];
	snprintf(p, sizeof(p), "/proc/%s/status", pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return false;
	bool yes = false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		int fields = 0;
		long last = 0;
		for (char *s = line + 6, *end; *s; s = end) {
			long v = strtol(s, &end, 10);
			if (end == s)
				break;
			fields++;
			last = v;
		}
		yes = fields >= 2 && last != 1;
		break;
	}
	fclose(f);
	return yes;
}

int vsd_reap_orphans(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	long me = (long)getpid();
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char state;
		long ppid;
		if (stat_of(e->d_name, &state, &ppid) < 0 || state != 'Z' || ppid != me || !nested_not_init(e->d_name))
			continue;
		if (waitpid((pid_t)atol(e->d_name), NULL, WNOHANG) > 0)
			n++;
	}
	closedir(d);
	return n;
}
