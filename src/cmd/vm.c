/* `vessel vm run`: boot a microVM with its serial console on stdin/stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "cmd/commands.h"
#include "cmd/opts.h"
#include "vmm/vmm.h"

static const char usage_text[] =
	"usage: vessel vm run --kernel FILE [--initrd FILE] [--cmdline STR] [--cpus N]\n"
	"                     [--memory SIZE] [--disk PATH[,ro]]... [--net tap=NAME[,mac=MAC]]...\n"
	"                     [--console serial|none]\n"
	"\n"
	"Boots the kernel (bzImage or ELF vmlinux) in a KVM microVM. The serial console\n"
	"is connected to stdin/stdout; Ctrl-C or SIGTERM stops the VM. SIZE takes K, M\n"
	"or G (a bare number means MiB; default 256M). The kernel command line always\n"
	"starts with: console=ttyS0 reboot=k panic=-1 pci=off ... (see docs).\n"
	"\n"
	"Exit status: 0 the guest powered off or rebooted; 1 the VMM failed (bad\n"
	"arguments or image, no usable KVM); 3 the guest kernel panicked; 4 the guest\n"
	"crashed (triple fault); 5 KVM reported an error; 128+N stopped by signal N.\n"
	"\n"
	"Environment: VESSEL_VM_STATS=1 prints start-up CPU time and memory use to\n"
	"stderr at exit; VESSEL_ALLOW_PVM=1 tries to boot even on a PVM /dev/kvm.\n"
	"Testing: --ring3 FILE runs a flat ring-3 test guest (tests/guests/README.md).\n";

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 20;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v == 0 || v > (1ULL << (63 - shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* tap=NAME[,mac=MAC]; without a MAC: 52:54:00 + a hash of the tap name. */
static int parse_net(char *spec, vs_vmm_net *n)
{
	bool have_mac = false;
	n->tap = NULL;
	for (char *save = NULL, *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "tap=", 4) && kv[4])
			n->tap = kv + 4;
		else if (!strncmp(kv, "mac=", 4) && parse_mac(kv + 4, n->mac) == 0)
			have_mac = true;
		else
			return -1;
	}
	if (!n->tap)
		return -1;
	if (!have_mac) {
		uint32_t h = 2166136261u;
		for (const char *c = n->tap; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
		uint8_t def[6] = {0x52, 0x54, 0x00, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h};
		memcpy(n->mac, def, 6);
	}
	return 0;
}

static void print_stats(const vs_vmm_result *res)
{
	uint64_t vmm_kib = res->max_rss_kib > res->guest_rss_kib ? res->max_rss_kib - res->guest_rss_kib : 0;
	fprintf(stderr,
		"vessel-vm-stats: startup_cpu_us=%llu max_rss_kib=%llu guest_rss_kib=%llu vmm_rss_kib=%llu "
		"status=%d\n",
		(unsigned long long)(res->startup_cpu_ns / 1000), (unsigned long long)res->max_rss_kib,
		(unsigned long long)res->guest_rss_kib, (unsigned long long)vmm_kib, res->status);
}

static int vm_run(vs_global *g, int argc, char **argv)
{
	const char *memory = "256M", *console = "serial";
	long cpus = 1;
	bool help = false, no_jail = false;
	vs_strlist disks = {0}, nets = {0};
	vs_vmm_config cfg = {.in_fd = 0, .out_fd = 1};
	vs_opt opts[] = {
		{"kernel", 0, OPT_STR, &cfg.kernel},
		{"initrd", 0, OPT_STR, &cfg.initrd},
		{"cmdline", 0, OPT_STR, &cfg.cmdline},
		{"cpus", 0, OPT_INT, &cpus},
		{"memory", 0, OPT_STR, &memory},
		{"disk", 0, OPT_LIST, &disks},
		{"net", 0, OPT_LIST, &nets},
		{"console", 0, OPT_STR, &console},
		{"ring3", 0, OPT_STR, &cfg.ring3},
		{"no-jail", 0, OPT_BOOL, &no_jail},
		{"help", 'h', OPT_BOOL, &help},
		{0},
	};
	int rc = 2;
	int i = vs_opts_parse("vm run", argc, argv, opts);
	if (i < 0)
		goto out;
	if (help) {
		fputs(usage_text, stdout);
		rc = 0;
		goto out;
	}
	if (i < argc || (!cfg.kernel && !cfg.ring3) || (cfg.kernel && cfg.ring3)) {
		fprintf(stderr, i < argc ? "vessel vm run: unexpected argument '%s'\n"
					 : "vessel vm run: need --kernel FILE%s\n",
			i < argc ? argv[i] : "");
		fputs(usage_text, stderr);
		goto out;
	}
	if (cpus < 1 || cpus > 32) {
		fprintf(stderr, "vessel vm run: --cpus %ld: must be 1..32\n", cpus);
		goto out;
	}
	cfg.cpus = (unsigned)cpus;
	if (parse_size(memory, &cfg.mem_size) < 0 || cfg.mem_size < (16u << 20) || cfg.mem_size % 4096) {
		fprintf(stderr, "vessel vm run: --memory %s: need a size of at least 16M (K/M/G suffix)\n", memory);
		goto out;
	}
	if (!strcmp(console, "serial"))
		cfg.console = true;
	else if (strcmp(console, "none")) {
		fprintf(stderr, "vessel vm run: --console must be serial or none, not '%s'\n", console);
		goto out;
	}
	if (disks.n > VS_VMM_MAX_DISKS || nets.n > VS_VMM_MAX_NETS) {
		fprintf(stderr, "vessel vm run: at most %d --disk and %d --net\n", VS_VMM_MAX_DISKS, VS_VMM_MAX_NETS);
		goto out;
	}
	for (int d = 0; d < disks.n; d++) {
		char *spec = (char *)disks.items[d], *comma = strrchr(spec, ',');
		cfg.disks[d].path = spec;
		if (comma && !strcmp(comma, ",ro")) {
			*comma = 0;
			cfg.disks[d].readonly = true;
		} else if (comma && !strcmp(comma, ",rw")) {
			*comma = 0;
		}
		if (!*spec) {
			fprintf(stderr, "vessel vm run: --disk needs PATH[,ro]\n");
			goto out;
		}
	}
	cfg.n_disks = (unsigned)disks.n;
	for (int n = 0; n < nets.n; n++) {
		if (parse_net((char *)nets.items[n], &cfg.nets[n]) < 0) {
			fprintf(stderr, "vessel vm run: --net needs tap=NAME[,mac=XX:XX:XX:XX:XX:XX]\n");
			goto out;
		}
	}
	cfg.n_nets = (unsigned)nets.n;
	cfg.no_jail = no_jail;
	const char *pvm = getenv("VESSEL_ALLOW_PVM");
	cfg.allow_pvm = pvm && *pvm && strcmp(pvm, "0");
	const char *st = getenv("VESSEL_VM_STATS");
	bool stats = g->debug || (st && *st && strcmp(st, "0"));

	vs_err err = {0};
	vs_vmm_result res;
	if (vs_vmm_run(&cfg, &res, &err) < 0) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	if (res.status != 0 && res.msg[0])
		fprintf(stderr, "vessel: vm stopped: %s\n", res.msg);
	if (stats)
		print_stats(&res);
	rc = res.status;
out:
	free(disks.items);
	free(nets.items);
	return rc;
}

int cmd_vm(vs_global *g, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "run"))
		return vm_run(g, argc - 1, argv + 1);
	if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	fputs(usage_text, stderr);
	return 2;
}
