/* Port-I/O and MMIO buses. A device registers an address range and two
 * callbacks; the vCPU loop dispatches KVM_EXIT_IO / KVM_EXIT_MMIO here. Each
 * device file (dev/serial.c, dev/virtio_mmio.c, ...) only knows this
 * interface, the guest memory accessor and its interrupt line. */
#ifndef VS_VMM_BUS_H
#define VS_VMM_BUS_H

#include <pthread.h>
#include <stdint.h>

#include "base/error.h"

typedef struct vs_bus_dev vs_bus_dev;
struct vs_bus_dev {
	const char *name;
	uint64_t base, len;
	/* off is relative to base; size is 1, 2, 4 or 8. Reads fill data. */
	void (*read)(vs_bus_dev *dev, uint64_t off, void *data, unsigned size);
	void (*write)(vs_bus_dev *dev, uint64_t off, const void *data, unsigned size);
	void *opaque;
};

#define VS_BUS_MAX_DEVS 32

typedef struct vs_bus {
	const char *name; /* "pio" or "mmio" */
	vs_bus_dev *devs[VS_BUS_MAX_DEVS];
	unsigned n_devs;
	pthread_mutex_t lock; /* serialises device callbacks across vCPUs */
} vs_bus;

void vs_bus_init(vs_bus *bus, const char *name);
/* Fails on overlap or when the bus is full. */
int vs_bus_register(vs_bus *bus, vs_bus_dev *dev, vs_err *err);
/* Dispatch an access. Unclaimed reads return all-ones; unclaimed writes are
 * ignored. Returns 0 if a device claimed the address, -1 otherwise. */
int vs_bus_access(vs_bus *bus, uint64_t addr, void *data, unsigned size, int is_write);

/* Raise/lower a guest interrupt line (GSI); implemented by the VM (KVM_IRQ_LINE). */
typedef struct vs_irq {
	void (*set)(void *vm, unsigned gsi, int level);
	void *vm;
	unsigned gsi;
} vs_irq;

static inline void vs_irq_set(const vs_irq *irq, int level)
{
	if (irq->set)
		irq->set(irq->vm, irq->gsi, level);
}

#endif
