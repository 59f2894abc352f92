/* What a device has done, for metrics (Firecracker's names where it has
 * them). Shared by the devices (dev/virtio.h) and the engine's metrics
 * (vmm.h); the front end formats them. */
#ifndef VS_VMM_DEVSTATS_H
#define VS_VMM_DEVSTATS_H

#include <stdint.h>

typedef struct vs_dev_stats {
	uint64_t read_bytes, write_bytes, read_count, write_count, flush_count, io_errors; /* block */
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets, tx_dropped;                  /* net */
	uint64_t throttled, rx_throttled, tx_throttled; /* times a rate limiter held a queue back */
	uint64_t config_changes;                        /* block: backing file swapped */
} vs_dev_stats;

#endif
