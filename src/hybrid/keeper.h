/* The keeper of a VM-isolated container (keeper.c): the process create
 * forks and the state names, as a plain container names its init. It
 * spawns the VMM (its child: PDEATHSIG, so the VMM never outlives it),
 * speaks to the agent, waits for start on exec.fifo, relays the
 * container's stdio (its own stdin/stdout/stderr) and signals, and exits
 * with the container's status. Internal to src/hybrid/. */
#ifndef VS_HYBRID_KEEPER_H
#define VS_HYBRID_KEEPER_H

#include "hybrid/hybrid.h"

typedef struct vs_hyb_keeper {
	const vs_hyb_opts *o;
	const vs_hyb_paths *paths;
	int listen_fd;   /* on <uds>_1024: the agent connects there */
	int report_fd;   /* "0:" once READY, else "errno:message"; closed after */
	const char *config;
	size_t config_len;
	const vs_hyb_file *files;
	size_t n_files;
} vs_hyb_keeper;

/* Returns the exit status for the keeper process. */
int vs_hyb_keeper_main(const vs_hyb_keeper *k);

/* Kill and wait for the VMM vmm.pid names (its keeper is gone). */
int vs_hyb_reap_vmm(const char *vmm_pid_path);

#endif
