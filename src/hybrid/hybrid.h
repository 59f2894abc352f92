/* VM-isolated containers, the host side: the bundle's rootfs becomes a
 * disk image, one VMM process boots the agent's initramfs with it, and the
 * runtime drives the agent over vsock (hybrid/proto.h). Library code: no
 * printing, no environment; the CLI (src/cmd/hybrid.c) decides. */
#ifndef VS_HYBRID_HYBRID_H
#define VS_HYBRID_HYBRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* The annotation that asks for VM isolation in config.json. */
#define VS_HYB_ANNOTATION "io.vessel.isolation"

/* Where the container's process does its I/O on the host, and how long
 * the agent may take (ms) for each step before it counts as broken. */
typedef struct vs_hyb_io {
	int in_fd;      /* relayed to the process's stdin; -1: none (EOF at once) */
	int out_fd, err_fd;
	int sig_fd;     /* a signalfd: each signal is passed on to the process; -1: none */
	int vmm_pidfd;  /* the VMM process: its end ends the session; -1: none */
	int hello_ms, ready_ms, rest_ms;
} vs_hyb_io;

/* One container's conversation with the agent on a connected stream:
 * HELLO, CREATE(config), READY, START, stdio until EXIT. *status gets the
 * process's exit code, or 128+N when signal N killed it. Any message the
 * agent should not send now, or sends malformed, ends it with an error. */
int vs_hyb_session(int conn, const char *config, size_t config_len, const vs_hyb_io *io, int *status,
		   vs_err *err);

/* The disk image of a rootfs: an ext4 file system built from DIR with
 * mkfs.ext4 -d (no journal: the image is the container's throwaway copy). */
int vs_hyb_image_build(const char *dir, const char *image, vs_err *err);

/* The VMM of one container, in a child process of its own. */
typedef struct vs_hyb_vm_cfg {
	const char *kernel, *initrd, *disk, *uds;
	unsigned cpus;
	uint64_t mem;
	bool console;    /* the guest's serial console on err_fd (debugging) */
	int console_fd;
	bool allow_pvm;
} vs_hyb_vm_cfg;

typedef struct vs_hyb_vm {
	pid_t pid;
	int pidfd;       /* readable once the VMM process has ended */
	int msg_fd;      /* its failure message, if any */
} vs_hyb_vm;

int vs_hyb_vm_spawn(const vs_hyb_vm_cfg *cfg, vs_hyb_vm *vm, vs_err *err);
/* Stop (SIGTERM: the VMM stops the guest) if still running, reap, close.
 * Returns the VMM's exit status; when it failed, err says why. */
int vs_hyb_vm_end(vs_hyb_vm *vm, bool stop, vs_err *err);

/* The newest /boot/vmlinuz-REL with /lib/modules/REL installed. */
int vs_hyb_default_kernel(char *path, size_t len, char *rel, size_t rel_len, vs_err *err);

typedef struct vs_hyb_opts {
	const char *root, *id, *bundle;
	const char *kernel, *initrd;
	unsigned cpus;
	uint64_t mem;
	bool console, allow_pvm;
	int in_fd, out_fd, err_fd, sig_fd;
} vs_hyb_opts;

/* `run` in a microVM: state dir, image, VMM, session, clean-up. */
int vs_hyb_run(const vs_hyb_opts *o, int *status, vs_err *err);

#endif
