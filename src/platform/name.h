/* Names users give instances and image aliases: the one check every API
 * path and body goes through before a name touches the disk or the DB. */
#ifndef VSD_NAME_H
#define VSD_NAME_H

#include <stdbool.h>

#include "base/error.h"

#define VSD_NAME_MAX 63

/* 1..63 chars of [a-z0-9-], starting with a letter or digit, not ending
 * with '-': so no '/', no "..", nothing a path or shell could read twice.
 * what names the field in the message ("instance name"). */
int vsd_name_check(const char *name, const char *what, vs_err *err);

#endif
