/* `vessel vm run`: boot a microVM with its serial console on stdin/stdout. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "cmd/commands.h"
#include "cmd/opts.h"
#include "vmm/api/fc.h"
#include "vmm/api/server.h"
#include "vmm/migsock.h"
#include "vmm/vmm.h"

#define VESSEL_VM_VERSION "0.1.0" /* as `vessel --version` */

static const char usage_text[] =
	"usage: vessel vm run --kernel FILE [--initrd FILE] [--cmdline STR] [--cpus N]\n"
	"                     [--memory SIZE] [--disk PATH[,ro][,bw=RATE][,iops=N]]...\n"
	"                     [--net tap=NAME[,mac=MAC][,rx_bw=RATE][,tx_bw=RATE]]...\n"
	"                     [--vsock CID:UDS_PATH] [--balloon MIB[,deflate-on-oom][,stats=SECONDS]]\n"
	"                     [--console serial|none] [--api-sock PATH]\n"
	"       vessel vm run --config-file FILE [--api-sock PATH | --no-api]\n"
	"       vessel vm run --api-sock PATH\n"
	"       vessel vm run --restore STATE --restore-mem MEM [--paused] [--api-sock PATH]\n"
	"       vessel vm run --incoming unix:PATH|tcp:HOST:PORT [--api-sock PATH]\n"
	"       vessel vm migrate --api-sock PATH DEST   (vessel vm migrate --help)\n"
	"\n"
	"Boots the kernel (bzImage or ELF vmlinux) in a KVM microVM. The serial console\n"
	"is connected to stdin/stdout; Ctrl-C or SIGTERM stops the VM. SIZE takes K, M,\n"
	"G or T (a bare number means MiB; default 256M): at least 16M, whole 4K pages,\n"
	"at most the host's RAM. The kernel command line always starts with:\n"
	"console=ttyS0 reboot=k panic=-1 pci=off ... (see docs).\n"
	"\n"
	"Exit status: 0 the guest powered off or rebooted; 1 the VMM failed (bad\n"
	"arguments or image, no usable KVM); 3 the guest kernel panicked; 4 the guest\n"
	"crashed (triple fault); 5 KVM reported an error; 128+N stopped by signal N.\n"
	"\n"
	"RATE: bytes per second, with an optional K, M or G suffix (powers of 1024);\n"
	"bw/iops limit a disk's bytes and requests per second, rx_bw/tx_bw a network\n"
	"interface (token buckets refilled every 100 ms; changeable through the API).\n"
	"\n"
	"--api-sock PATH serves Firecracker's HTTP API on a Unix socket (docs/vm-api.md);\n"
	"without a boot source on the command line, PUT /actions InstanceStart boots.\n"
	"--config-file FILE boots from Firecracker's JSON configuration (boot-source,\n"
	"machine-config, drives, network-interfaces, vsock, balloon); --no-api serves no API.\n"
	"--vsock CID:UDS_PATH adds a virtio-vsock device (guest CID >= 3) with\n"
	"Firecracker's host side: connect to UDS_PATH and send \"CONNECT <port>\\n\" to\n"
	"reach a guest port; guest connections to host port P go to UDS_PATH_P.\n"
	"--balloon MIB adds a virtio-balloon with that target (memory the guest gives\n"
	"back to the host); stats=SECONDS polls the guest's memory statistics.\n"
	"--restore STATE --restore-mem MEM resumes a snapshot (PUT /snapshot/create):\n"
	"the machine it describes, guest memory mapped from MEM; --paused leaves it\n"
	"paused (resume it with PATCH /vm). A bad snapshot is refused (status 1).\n"
	"--incoming ADDR waits for one live migration (vessel vm migrate) on ADDR\n"
	"(HOST: an IP address or localhost) and runs the guest it brings; the stream\n"
	"describes the machine. A bad or cut stream is refused (status 1).\n"
	"\n"
	"Environment: VESSEL_VM_STATS=1 prints start-up CPU time and memory use to\n"
	"stderr at exit; VESSEL_ALLOW_PVM=1 tries to boot even on a PVM /dev/kvm;\n"
	"VESSEL_VM_XSAVE=0|1 hides or shows XSAVE/AVX to the guest (default: decided).\n"
	"Testing: --ring3 FILE runs a flat ring-3 test guest (tests/guests/README.md).\n";

/* SIZE: a number with an optional K, M, G or T suffix (KiB.. TiB; "MB" and
 * "MiB" spellings too); a bare number means MiB. Returns a reason on error. */
const char *vs_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return "not a size (a number with an optional K, M, G or T suffix)";
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return "too large";
	static const char suffixes[] = "KMGT";
	int c = *end & ~0x20; /* upper case */
	const char *suf = c ? strchr(suffixes, c) : NULL;
	unsigned shift = suf ? 10 * (unsigned)(suf - suffixes + 1) : 20;
	if (suf)
		end++;
	if (end[0] == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		return "not a size (a number with an optional K, M, G or T suffix)";
	if (v > (UINT64_MAX >> shift))
		return "too large";
	*out = (uint64_t)v << shift;
	return NULL;
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

typedef struct vs_vmm_net {
	const char *tap;
	uint8_t mac[6];
	vs_rl_cfg rx, tx;
} vs_vmm_net;

/* RATE per second (K/M/G: 1024-based) as a bucket refilled every 100 ms:
 * a tenth of a second's worth, so bursts stay short. */
static int parse_rate(const char *s, vs_tbucket_cfg *b)
{
	uint64_t v;
	char tmp[64];
	size_t n = strlen(s);
	if (!n || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n + 1);
	if (tmp[n - 1] >= '0' && tmp[n - 1] <= '9')
		strcat(tmp, "B"); /* a bare number is bytes here, not MiB */
	if (vs_parse_size(tmp, &v) || v == 0 || v / 10 > VS_RL_MAX_TOKENS)
		return -1;
	*b = (vs_tbucket_cfg){.size = v / 10 ? v / 10 : 1, .refill_ms = 100};
	return 0;
}

/* tap=NAME[,mac=MAC][,rx_bw=RATE][,tx_bw=RATE]; without a MAC: 52:54:00 +
 * a hash of the tap name. */
static int parse_net(char *spec, vs_vmm_net *n)
{
	bool have_mac = false;
	n->tap = NULL;
	for (char *save = NULL, *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "tap=", 4) && kv[4])
			n->tap = kv + 4;
		else if (!strncmp(kv, "mac=", 4) && parse_mac(kv + 4, n->mac) == 0)
			have_mac = true;
		else if (!strncmp(kv, "rx_bw=", 6) && parse_rate(kv + 6, &n->rx.bw) == 0)
			;
		else if (!strncmp(kv, "tx_bw=", 6) && parse_rate(kv + 6, &n->tx.bw) == 0)
			;
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

static bool env_on(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0");
}

/* --disk PATH[,ro|,rw][,bw=RATE][,iops=N] -> drive "diskN". Options are
 * taken from the end, so a path may hold commas. */
static int parse_disk(char *spec, unsigned idx, vs_vmm_device *d)
{
	char *comma;
	memset(d, 0, sizeof(*d));
	d->kind = VS_VMM_DEV_BLOCK;
	while ((comma = strrchr(spec, ','))) {
		const char *o = comma + 1;
		if (!strcmp(o, "ro"))
			d->readonly = true;
		else if (!strcmp(o, "rw"))
			d->readonly = false;
		else if (!strncmp(o, "bw=", 3)) {
			if (parse_rate(o + 3, &d->rl.bw) < 0)
				return -1;
		} else if (!strncmp(o, "iops=", 5)) {
			if (parse_rate(o + 5, &d->rl.ops) < 0)
				return -1;
		} else
			break;
		*comma = 0;
	}
	if (!*spec || strlen(spec) >= sizeof(d->path))
		return -1;
	snprintf(d->id, sizeof(d->id), "disk%u", idx);
	memcpy(d->path, spec, strlen(spec) + 1);
	return 0;
}

/* --vsock CID:UDS_PATH */
static int parse_vsock(const char *spec, vs_vmm_vsock *v)
{
	char *end;
	errno = 0;
	unsigned long cid = strtoul(spec, &end, 10);
	if (errno || end == spec || *end != ':' || !end[1] || cid > UINT32_MAX || strlen(end + 1) >= sizeof(v->uds_path))
		return -1;
	memset(v, 0, sizeof(*v));
	v->guest_cid = (uint32_t)cid;
	memcpy(v->uds_path, end + 1, strlen(end + 1) + 1);
	return 0;
}

/* --balloon MIB[,deflate-on-oom][,stats=SECONDS] */
static int parse_balloon(const char *spec, vs_vmm_balloon *b)
{
	char buf[128], *end;
	if (strlen(spec) >= sizeof(buf))
		return -1;
	memcpy(buf, spec, strlen(spec) + 1);
	memset(b, 0, sizeof(*b));
	char *save = NULL, *kv = strtok_r(buf, ",", &save);
	errno = 0;
	unsigned long mib = kv ? strtoul(kv, &end, 10) : 0;
	if (!kv || errno || end == kv || *end || mib > (UINT32_MAX >> 8))
		return -1;
	b->amount_mib = (uint32_t)mib;
	while ((kv = strtok_r(NULL, ",", &save))) {
		if (!strcmp(kv, "deflate-on-oom")) {
			b->deflate_on_oom = true;
		} else if (!strncmp(kv, "stats=", 6)) {
			unsigned long sec = strtoul(kv + 6, &end, 10);
			if (end == kv + 6 || *end || sec > 86400)
				return -1;
			b->stats_interval_s = (uint32_t)sec;
		} else {
			return -1;
		}
	}
	return 0;
}

typedef struct vm_flags {
	const char *kernel, *initrd, *cmdline, *ring3, *memory, *console, *vsock, *balloon;
	vs_vmm_vsock vs;
	vs_vmm_balloon bl;
	const char *api_sock, *config_file, *restore, *restore_mem, *incoming;
	long cpus;
	bool help, no_jail, no_api, paused;
	vs_strlist disks, nets;
	vs_vmm_device devs[VS_VMM_MAX_DISKS + VS_VMM_MAX_NETS];
	unsigned n_devs;
} vm_flags;

/* The machine the flags describe, on the engine's handle. */
static int configure(vs_vmm *m, const vm_flags *f, uint64_t mem, vs_err *err)
{
	if (f->kernel || f->ring3) {
		if (vs_vmm_set_boot(m, f->kernel ? f->kernel : f->ring3, f->initrd, f->cmdline, f->ring3 != NULL, err) < 0 ||
		    vs_vmm_set_machine(m, (unsigned)f->cpus, mem, err) < 0)
			return -1;
	}
	for (unsigned d = 0; d < f->n_devs; d++)
		if (vs_vmm_put_device(m, &f->devs[d], err) < 0)
			return -1;
	if (f->vsock && vs_vmm_set_vsock(m, &f->vs, err) < 0)
		return vs_wrap(err, "--vsock");
	if (f->balloon && vs_vmm_set_balloon(m, &f->bl, err) < 0)
		return vs_wrap(err, "--balloon");
	return 0;
}

/* --disk and --net into devices; prints why and returns -1 on a bad one. */
static int parse_devices(vm_flags *f)
{
	for (int d = 0; d < f->disks.n; d++) {
		if (parse_disk((char *)f->disks.items[d], (unsigned)d, &f->devs[f->n_devs]) < 0) {
			fprintf(stderr, "vessel vm run: --disk needs PATH[,ro][,bw=RATE][,iops=N]\n");
			return -1;
		}
		f->n_devs++;
	}
	for (int n = 0; n < f->nets.n; n++) {
		vs_vmm_net net = {0};
		vs_vmm_device *dev = &f->devs[f->n_devs];
		memset(dev, 0, sizeof(*dev));
		dev->kind = VS_VMM_DEV_NET;
		if (parse_net((char *)f->nets.items[n], &net) < 0 || strlen(net.tap) >= sizeof(dev->path)) {
			fprintf(stderr, "vessel vm run: --net needs tap=NAME[,mac=XX:XX:XX:XX:XX:XX][,rx_bw=RATE][,tx_bw=RATE]\n");
			return -1;
		}
		snprintf(dev->id, sizeof(dev->id), "net%d", n);
		memcpy(dev->path, net.tap, strlen(net.tap) + 1);
		memcpy(dev->mac, net.mac, 6);
		dev->rl = net.rx;
		dev->tx_rl = net.tx;
		f->n_devs++;
	}
	return 0;
}

/* --restore: the files are opened here, the engine maps and reads them. */
static int restore(vs_vmm *m, const vm_flags *f, vs_err *err)
{
	vs_vmm_snap_files sf = {.state_path = f->restore, .mem_path = f->restore_mem};
	sf.state_fd = open(f->restore, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (sf.state_fd < 0)
		return vs_fail(err, errno, "open snapshot %s", f->restore);
	sf.mem_fd = open(f->restore_mem, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (sf.mem_fd < 0) {
		close(sf.state_fd);
		return vs_fail(err, errno, "open memory file %s", f->restore_mem);
	}
	int r = vs_vmm_restore(m, &sf, !f->paused, false, err);
	close(sf.state_fd);
	close(sf.mem_fd);
	return r;
}

/* --incoming: listen, take one connection, and remove the listener (the
 * VMM may unlink nothing once jailed). Before the engine blocks SIGINT,
 * so Ctrl-C ends the wait. */
static int incoming_accept(const char *addr, vs_err *err)
{
	vs_mig_addr a;
	if (vs_mig_addr_parse(addr, &a, err) < 0)
		return vs_wrap(err, "--incoming");
	int lfd = vs_mig_listen(&a, err);
	if (lfd < 0)
		return -1;
	int fd = vs_mig_accept(lfd, &a, err);
	close(lfd);
	if (a.sa.ss_family == AF_UNIX)
		unlink(addr + 5);
	return fd;
}

static int vm_run(vs_global *g, int argc, char **argv)
{
	static vm_flags f; /* its device table is large */
	memset(&f, 0, sizeof(f));
	f.memory = "256M", f.console = "serial", f.cpus = 1;
	vs_opt opts[] = {
		{"kernel", 0, OPT_STR, &f.kernel},
		{"initrd", 0, OPT_STR, &f.initrd},
		{"cmdline", 0, OPT_STR, &f.cmdline},
		{"cpus", 0, OPT_INT, &f.cpus},
		{"memory", 0, OPT_STR, &f.memory},
		{"disk", 0, OPT_LIST, &f.disks},
		{"net", 0, OPT_LIST, &f.nets},
		{"console", 0, OPT_STR, &f.console},
		{"vsock", 0, OPT_STR, &f.vsock},
		{"balloon", 0, OPT_STR, &f.balloon},
		{"ring3", 0, OPT_STR, &f.ring3},
		{"no-jail", 0, OPT_BOOL, &f.no_jail},
		{"api-sock", 0, OPT_STR, &f.api_sock},
		{"config-file", 0, OPT_STR, &f.config_file},
		{"no-api", 0, OPT_BOOL, &f.no_api},
		{"restore", 0, OPT_STR, &f.restore},
		{"restore-mem", 0, OPT_STR, &f.restore_mem},
		{"paused", 0, OPT_BOOL, &f.paused},
		{"incoming", 0, OPT_STR, &f.incoming},
		{"help", 'h', OPT_BOOL, &f.help},
		{0},
	};
	int rc = 2, in_fd = -1;
	vs_vmm *m = NULL;
	vs_api_server *api = NULL;
	int i = vs_opts_parse("vm run", argc, argv, opts);
	if (i < 0)
		goto out;
	if (f.help) {
		fputs(usage_text, stdout);
		rc = 0;
		goto out;
	}
	bool boot_flags = f.kernel || f.ring3;
	if (!f.restore != !f.restore_mem || (f.restore && (boot_flags || f.config_file || f.disks.n || f.nets.n)) ||
	    (f.paused && !f.restore)) {
		fprintf(stderr, "vessel vm run: --restore STATE needs --restore-mem MEM and describes the machine itself "
				"(no --kernel, --ring3, --config-file, --disk or --net with it; --paused only with it)\n");
		goto out;
	}
	if (f.incoming && (boot_flags || f.config_file || f.disks.n || f.nets.n || f.restore || f.vsock || f.balloon)) {
		fprintf(stderr, "vessel vm run: --incoming: the migration stream describes the machine (no --kernel, "
				"--ring3, --config-file, --disk, --net, --vsock, --balloon or --restore with it)\n");
		goto out;
	}
	if (i < argc || (!boot_flags && !f.config_file && !f.api_sock && !f.restore && !f.incoming) || (f.kernel && f.ring3)) {
		fprintf(stderr, i < argc ? "vessel vm run: unexpected argument '%s'\n"
					 : "vessel vm run: need --kernel FILE%s (or --config-file or --api-sock)\n",
			i < argc ? argv[i] : "");
		fputs(usage_text, stderr);
		goto out;
	}
	if (f.no_api && f.api_sock) {
		fprintf(stderr, "vessel vm run: --no-api and --api-sock exclude each other\n");
		goto out;
	}
	if (f.config_file && boot_flags) {
		fprintf(stderr, "vessel vm run: --config-file describes the machine: no --kernel or --ring3 with it\n");
		goto out;
	}
	if (f.cpus < 1 || f.cpus > VS_VMM_MAX_CPUS) {
		fprintf(stderr, "vessel vm run: --cpus %ld: must be 1..%d\n", f.cpus, VS_VMM_MAX_CPUS);
		goto out;
	}
	uint64_t mem = 0;
	const char *bad = vs_parse_size(f.memory, &mem);
	char what[64];
	vs_err err = {0};
	snprintf(what, sizeof(what), "--memory %.40s", f.memory);
	if (bad) {
		fprintf(stderr, "vessel vm run: %s: %s\n", what, bad);
		goto out;
	}
	if (vs_vmm_check_memory(mem, what, &err) < 0) {
		fprintf(stderr, "vessel vm run: %s\n", err.msg);
		goto out;
	}
	bool console = true;
	if (strcmp(f.console, "serial") == 0)
		console = true;
	else if (strcmp(f.console, "none") == 0)
		console = false;
	else {
		fprintf(stderr, "vessel vm run: --console must be serial or none, not '%s'\n", f.console);
		goto out;
	}
	if (f.disks.n > VS_VMM_MAX_DISKS || f.nets.n > VS_VMM_MAX_NETS) {
		fprintf(stderr, "vessel vm run: at most %d --disk and %d --net\n", VS_VMM_MAX_DISKS, VS_VMM_MAX_NETS);
		goto out;
	}
	if (parse_devices(&f) < 0)
		goto out;
	if (f.vsock && parse_vsock(f.vsock, &f.vs) < 0) {
		fprintf(stderr, "vessel vm run: --vsock needs CID:UDS_PATH (UDS_PATH at most %d bytes)\n", VS_VMM_UDS_MAX - 1);
		goto out;
	}
	if (f.balloon && parse_balloon(f.balloon, &f.bl) < 0) {
		fprintf(stderr, "vessel vm run: --balloon needs MIB[,deflate-on-oom][,stats=SECONDS]\n");
		goto out;
	}
	const char *xs = getenv("VESSEL_VM_XSAVE");
	vs_vmm_options o = {
		.console = console,
		.in_fd = 0,
		.out_fd = 1,
		.no_jail = f.no_jail,
		.allow_pvm = env_on("VESSEL_ALLOW_PVM"),
		.xsave = xs && *xs ? strcmp(xs, "0") != 0 : -1,
	};
	bool stats = g->debug || env_on("VESSEL_VM_STATS");
	rc = 1;
	if (f.incoming && (in_fd = incoming_accept(f.incoming, &err)) < 0) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	m = vs_vmm_new(&o, &err);
	if (!m || configure(m, &f, mem, &err) < 0 ||
	    (f.config_file && vs_fc_config_file(m, f.config_file, &err) < 0)) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	vs_fc_info info = {.id = "anonymous-instance", .app_name = "vessel", .version = VESSEL_VM_VERSION};
	if (f.api_sock && !(api = vs_api_listen(f.api_sock, m, &info, !f.no_jail, &err))) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	/* With an API and nothing to boot yet, InstanceStart starts it. */
	if ((boot_flags || f.config_file) && vs_vmm_start(m, &err) < 0) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	if (f.restore && restore(m, &f, &err) < 0) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	vs_vmm_mig_stats ist;
	if (in_fd >= 0 && vs_vmm_incoming(m, in_fd, f.incoming, &ist, &err) < 0) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	if (in_fd >= 0) {
		close(in_fd);
		in_fd = -1;
	}
	vs_vmm_result res;
	if (vs_vmm_wait(m, &res, &err) < 0) {
		rc = vs_cmd_fail(&err);
		goto out;
	}
	if (res.status != 0 && res.msg[0])
		fprintf(stderr, "vessel: vm stopped: %s\n", res.msg);
	if (stats)
		print_stats(&res);
	rc = res.status;
out:
	/* The jail (on once the VM started) allows no unlink: the socket stays, as Firecracker's does. */
	vs_api_close(api, m && !vs_vmm_jailed(m));
	vs_vmm_destroy(m);
	if (in_fd >= 0)
		close(in_fd);
	free(f.disks.items);
	free(f.nets.items);
	return rc;
}

int cmd_vm(vs_global *g, int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "run"))
		return vm_run(g, argc - 1, argv + 1);
	if (argc >= 1 && !strcmp(argv[0], "migrate"))
		return vs_cmd_vm_migrate(argc - 1, argv + 1);
	if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	fputs(usage_text, stderr);
	return 2;
}
