#include "base/mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
static bool parse(char *line, vs_mountinfo *m)
{
	char *f[6], *save = NULL, *tok = strtok_r(line, " \n", &save);
	int i = 0;
	for (; tok && i < 6; i++, tok = strtok_r(NULL, " \n", &save))
		f[i] = tok;
	if (i < 6)
		return false;
	while (tok && strcmp(tok, "-") != 0) /* optional fields end at "-" */
		tok = strtok_r(NULL, " \n", &save);
	char *fstype = strtok_r(NULL, " \n", &save);
	char *source = strtok_r(NULL, " \n", &save);
	char *super = strtok_r(NULL, " \n", &save);
	if (!fstype || !source || sscanf(f[2], "%u:%u", &m->major, &m->minor) != 2)
		return false;
	m->id = atoi(f[0]);
	m->parent = atoi(f[1]);
	unescape(f[3]);
	unescape(f[4]);
	unescape(source);
	m->root = f[3];
	m->mountpoint = f[4];
	m->fstype = fstype;
	m->source = source;
	m->super_opts = super ? super : "";
	return true;
}

/* Read whole, not through stdio: its buffer for a /proc file is 1 KiB, a
 * read() per KiB of a file read two or three times per container start. */
int vs_mountinfo_each(const char *path, int (*fn)(const vs_mountinfo *m, void *arg), void *arg, vs_err *err)
{
	char *buf;
	if (vs_read_file(path, &buf, NULL, err) < 0)
		return -1;
	int rc = 0;
	for (char *line = buf, *nl; rc == 0 && *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		vs_mountinfo m;
		if (parse(line, &m))
			rc = fn(&m, arg);
	}
	free(buf);
	return rc;
}
