/* 16550A UART (COM1): transmit is instantaneous, receive has a 16-byte
 * FIFO fed from the host; interrupts on an ISA line (THRE, RDA, MSI). */
#ifndef VS_VMM_DEV_SERIAL_H
#define VS_VMM_DEV_SERIAL_H

#include <pthread.h>
#include <stdint.h>

#include "base/error.h"
#include "vmm/bus.h"
#include "vmm/snapfile.h"

#define VS_SERIAL_FIFO 16

typedef struct vs_serial {
	vs_bus_dev dev;
	vs_irq irq;
	pthread_mutex_t lock; /* vCPU register accesses vs. host input */
	/* Transmitted bytes go here (console sink), one at a time. */
	void (*out)(void *opaque, uint8_t byte);
	void *out_opaque;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t lsr_err;      /* overrun flag, reported once in LSR */
	int thre_pending;     /* THR-empty interrupt waiting to be seen in IIR */
	int irq_level;        /* what we last told the interrupt controller */
	uint8_t rx[VS_SERIAL_FIFO];
	unsigned rx_head, rx_len;
} vs_serial;

/* Initialise and register at `port` (8 ports) on the pio bus. */
int vs_serial_add(vs_serial *s, vs_bus *pio, uint16_t port, vs_irq irq,
		  void (*out)(void *opaque, uint8_t byte), void *out_opaque, vs_err *err);
/* Queue host input; returns how many bytes fit (the rest must be retried). */
size_t vs_serial_input(vs_serial *s, const uint8_t *buf, size_t len);
/* Free room in the receive FIFO. */
size_t vs_serial_room(vs_serial *s);

/* Snapshot: the registers, pending interrupts and the receive FIFO.
 * Restore takes a state vs_snap_read_serial checked; the interrupt line
 * level is restored without driving the line (the irqchip has its own). */
void vs_serial_save(vs_serial *s, vs_snap_serial *out);
void vs_serial_restore(vs_serial *s, const vs_snap_serial *in);

#endif
