/* runc-style flag parsing: --name value, --name=value, -name value, short
 * aliases (-b), booleans (--detach, --detach=false). Flags stop at the first
 * positional argument, as urfave/cli does, so `exec ID sh -c x` keeps its
 * trailing arguments untouched. */
#ifndef VS_CMD_OPTS_H
#define VS_CMD_OPTS_H

#include <stdbool.h>

typedef enum { OPT_BOOL, OPT_STR, OPT_INT, OPT_LIST } vs_opt_kind;

typedef struct vs_opt {
	const char *name;  /* long name without dashes */
	char short_name;   /* 0 if none */
	vs_opt_kind kind;
	void *target;      /* bool*, const char**, long*, or vs_strlist* */
} vs_opt;

typedef struct vs_strlist {
	const char **items;
	int n;
} vs_strlist;

/* Parse argv[0..argc) with opts (terminated by a zeroed entry). On success
 * returns the index of the first positional argument. On error prints a
 * message naming the flag and returns -1. */
int vs_opts_parse(const char *cmd, int argc, char **argv, const vs_opt *opts);

/* vs_opts_parse, then require a positional container id: returns its index,
 * or -1 after printing "container id required". */
int vs_opts_parse_id(const char *cmd, int argc, char **argv, const vs_opt *opts);

/* SIZE: a number with an optional K, M, G or T suffix; a bare number is
 * MiB (src/cmd/vm.c). NULL on success, else why not. */
#include <stdint.h>
const char *vs_parse_size(const char *s, uint64_t *out);

#endif
