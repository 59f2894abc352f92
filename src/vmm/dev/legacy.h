/* Small platform devices that end the run or tell the VMM something:
 * i8042 (reset line), ACPI PM1 block (S5 power-off), pvpanic, and the
 * ring-3 test guests' debug-exit port. One file each. */
#ifndef VS_VMM_DEV_LEGACY_H
#define VS_VMM_DEV_LEGACY_H

#include <stdint.h>

#include "base/error.h"
#include "vmm/snapfile.h"
#include "vmm/vm.h"

/* i8042 keyboard controller at 0x60/0x64: enough of the controller for
 * Linux's probe, and the CPU reset command (0xfe) -> VS_STOP_RESET. */
typedef struct vs_i8042 {
	vs_bus_dev data_port, cmd_port;
	vs_vm *vm;
	pthread_mutex_t mu;   /* vCPU accesses vs. key presses from the API */
	uint8_t ctr;          /* controller configuration byte */
	uint8_t out[16];      /* output buffer queue */
	unsigned out_len;
	uint8_t pending_cmd;  /* command whose data byte goes to port 0x60 next */
} vs_i8042;
int vs_i8042_add(vs_i8042 *k, vs_vm *vm, vs_err *err);
/* Press Ctrl, Alt and Del (scan code set 2, as Firecracker sends them) and
 * raise IRQ 1 if the guest enabled keyboard interrupts. */
void vs_i8042_ctrl_alt_del(vs_i8042 *k);
void vs_i8042_save(vs_i8042 *k, vs_snap_i8042 *out);
void vs_i8042_restore(vs_i8042 *k, const vs_snap_i8042 *in); /* checked by vs_snap_read_i8042 */

/* ACPI PM1a event (4 ports) + control (2 ports) at VS_ACPI_PM_PORT.
 * Writing SLP_EN with SLP_TYP = VS_ACPI_S5_TYP -> VS_STOP_POWEROFF. */
#define VS_ACPI_S5_TYP 5
typedef struct vs_acpi_pm {
	vs_bus_dev dev;
	vs_vm *vm;
	uint16_t sts, en, cnt;
} vs_acpi_pm;
int vs_acpi_pm_add(vs_acpi_pm *pm, vs_vm *vm, vs_err *err);
void vs_acpi_pm_save(const vs_acpi_pm *pm, vs_snap_acpi_pm *out);
void vs_acpi_pm_restore(vs_acpi_pm *pm, const vs_snap_acpi_pm *in);

/* pvpanic (QEMU0001) at VS_PVPANIC_PORT: the guest writes bit 0 when it
 * panics; the VMM records it (vs_pvpanic.panicked). */
typedef struct vs_pvpanic {
	vs_bus_dev dev;
	_Atomic int panicked;
	void (*on_panic)(void *opaque);
	void *opaque;
} vs_pvpanic;
int vs_pvpanic_add(vs_pvpanic *p, vs_bus *pio, void (*on_panic)(void *), void *opaque, vs_err *err);
void vs_pvpanic_save(vs_pvpanic *p, vs_snap_pvpanic *out);
void vs_pvpanic_restore(vs_pvpanic *p, const vs_snap_pvpanic *in);

/* Ring-3 test guests only: a byte written to VS_DEBUG_EXIT_PORT ends the
 * run with that exit status. */
typedef struct vs_debug_exit {
	vs_bus_dev dev;
	vs_vm *vm;
} vs_debug_exit;
int vs_debug_exit_add(vs_debug_exit *d, vs_vm *vm, vs_err *err);

#endif
