#include "cmd/opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const vs_opt *find_opt(const vs_opt *opts, const char *name, size_t len)
{
	for (const vs_opt *o = opts; o->name; o++) {
		if (len == 1 && o->short_name == name[0])
			return o;
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	}
	return NULL;
}

static int set_value(const char *cmd, const vs_opt *o, const char *val)
{
	switch (o->kind) {
	case OPT_BOOL:
		if (!val || !strcmp(val, "true") || !strcmp(val, "1"))
			*(bool *)o->target = true;
		else if (!strcmp(val, "false") || !strcmp(val, "0"))
			*(bool *)o->target = false;
		else
			goto bad;
		return 0;
	case OPT_STR:
		*(const char **)o->target = val;
		return 0;
	case OPT_INT: {
		char *end;
		long v = strtol(val, &end, 0);
		if (!*val || *end)
			goto bad;
		*(long *)o->target = v;
		return 0;
	}
	case OPT_LIST: {
		vs_strlist *l = o->target;
		const char **items = realloc(l->items, sizeof(char *) * (size_t)(l->n + 1));
		if (!items)
			return -1;
		items[l->n++] = val;
		l->items = items;
		return 0;
	}
	}
bad:
	fprintf(stderr, "vessel %s: invalid value '%s' for --%s\n", cmd, val, o->name);
	return -1;
}

int vs_opts_parse(const char *cmd, int argc, char **argv, const vs_opt *opts)
{
	int i = 0;
	while (i < argc) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return i + 1;
		if (a[0] != '-' || a[1] == 0)
			return i;
		const char *name = a + 1 + (a[1] == '-');
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const vs_opt *o = find_opt(opts, name, len);
		if (!o) {
			fprintf(stderr, "vessel %s: unknown flag %s\n", cmd, a);
			return -1;
		}
		const char *val = eq ? eq + 1 : NULL;
		if (o->kind != OPT_BOOL && !val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vessel %s: flag --%s needs a value\n", cmd, o->name);
				return -1;
			}
			val = argv[++i];
		}
		if (set_value(cmd, o, val) < 0)
			return -1;
		i++;
	}
	return i;
}

int vs_opts_parse_id(const char *cmd, int argc, char **argv, const vs_opt *opts)
{
	int i = vs_opts_parse(cmd, argc, argv, opts);
	if (i >= 0 && i >= argc) {
		fprintf(stderr, "vessel %s: container id required\n", cmd);
		return -1;
	}
	return i;
}
