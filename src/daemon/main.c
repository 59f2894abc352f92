/* vesseld [--root DIR] [--socket PATH] [--runtime PATH]: the host
 * platform's daemon. All the work is in src/platform/ (libvesseld.a). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "platform/daemon.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vesseld [--root DIR] [--socket PATH] [--runtime PATH] [--debug]\n"
		   "  --root     state: database, images, instances (default /var/lib/vessel)\n"
		   "  --socket   the API's Unix socket (default /run/vessel/vesseld.sock)\n"
		   "  --runtime  the vessel runtime binary (default: vessel next to vesseld)\n");
}

int main(int argc, char **argv)
{
	vsd_opts o = {.root = "/var/lib/vessel", .socket = "/run/vessel/vesseld.sock"};
	bool debug = false;
	for (int i = 1; i < argc; i++) {
		const char **target = !strcmp(argv[i], "--root") ? &o.root : !strcmp(argv[i], "--socket") ? &o.socket
				    : !strcmp(argv[i], "--runtime") ? &o.runtime : NULL;
		if (target) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vesseld: %s needs a value\n", argv[i]);
				return 2;
			}
			*target = argv[++i];
		} else if (!strcmp(argv[i], "--debug")) {
			debug = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "vesseld: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	vs_log_open(NULL, false, debug);
	vs_err err = {0};
	if (vsd_serve(&o, &err) < 0) {
		char buf[768];
		fprintf(stderr, "vesseld: %s\n", vs_err_str(&err, buf, sizeof(buf)));
		return 1;
	}
	return 0;
}
