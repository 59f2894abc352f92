/* `vessel check`: what this host offers, one verdict per line in the
 * style of libvirt's virt-host-validate: "NAME : PASS|WARN|FAIL (why)".
 * The verdicts come from the library (host/hostinfo.h); this only prints. */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "host/hostinfo.h"

int cmd_check(vs_global *g, int argc, char **argv)
{
	(void)g;
	if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		printf("usage: vessel check\n\nReports what this host offers for containers and microVMs.\n"
		       "Exit status 0 when nothing FAILs, 1 otherwise.\n");
		return 0;
	}
	if (argc > 0) {
		fprintf(stderr, "vessel check: unexpected argument '%s'\n", argv[0]);
		return 2;
	}
	static const char *names[] = {"PASS", "WARN", "FAIL"};
	vs_hostinfo h;
	vs_host_verdict v[VS_HOST_MAX_VERDICTS];
	vs_host_probe(&h);
	size_t n = vs_host_verdicts(&h, v);
	int fails = 0;
	for (size_t i = 0; i < n; i++) {
		printf("vessel: %-58s: %s", v[i].item, names[v[i].level]);
		if (v[i].reason[0])
			printf(" (%s)", v[i].reason);
		printf("\n");
		fails += v[i].level == VS_HOST_FAIL;
	}
	return fails ? 1 : 0;
}
