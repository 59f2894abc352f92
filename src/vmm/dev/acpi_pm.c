/* ACPI fixed-hardware PM1a event and control blocks (the FADT points
 * here). Only what power-off needs: SCI_EN reads as set (the machine is
 * always in ACPI mode, FADT.SMI_CMD = 0) and writing SLP_EN with the S5
 * sleep type from the DSDT's \_S5 package powers the VM off. */
#include "vmm/dev/legacy.h"

#include <string.h>

#include "vmm/layout.h"

#define CNT_SCI_EN 0x0001
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_EN 0x2000

static void pm_read(vs_bus_dev *d, uint64_t off, void *data, unsigned size)
{
	vs_acpi_pm *pm = d->opaque;
	uint8_t regs[6];
	memcpy(regs + 0, &pm->sts, 2);
	memcpy(regs + 2, &pm->en, 2);
	uint16_t cnt = pm->cnt | CNT_SCI_EN;
	memcpy(regs + 4, &cnt, 2);
	memset(data, 0, size);
	for (unsigned i = 0; i < size && off + i < sizeof(regs); i++)
		((uint8_t *)data)[i] = regs[off + i];
}

static void pm_write(vs_bus_dev *d, uint64_t off, const void *data, unsigned size)
{
	vs_acpi_pm *pm = d->opaque;
	uint8_t regs[6];
	memcpy(regs + 0, &pm->sts, 2);
	memcpy(regs + 2, &pm->en, 2);
	memcpy(regs + 4, &pm->cnt, 2);
	uint16_t old_sts = pm->sts;
	for (unsigned i = 0; i < size && off + i < sizeof(regs); i++)
		regs[off + i] = ((const uint8_t *)data)[i];
	memcpy(&pm->en, regs + 2, 2);
	memcpy(&pm->cnt, regs + 4, 2);
	/* Status bits are write-1-to-clear. */
	uint16_t w1c;
	memcpy(&w1c, regs + 0, 2);
	pm->sts = off < 2 ? (uint16_t)(old_sts & ~w1c) : old_sts;
	if ((pm->cnt & CNT_SLP_EN) && ((pm->cnt >> CNT_SLP_TYP_SHIFT) & 7) == VS_ACPI_S5_TYP)
		vs_vm_request_stop(pm->vm, VS_STOP_POWEROFF, 0, NULL);
	pm->cnt &= (uint16_t)~CNT_SLP_EN; /* SLP_EN is write-only */
}

int vs_acpi_pm_add(vs_acpi_pm *pm, vs_vm *vm, vs_err *err)
{
	memset(pm, 0, sizeof(*pm));
	pm->vm = vm;
	pm->dev = (vs_bus_dev){.name = "acpi-pm", .base = VS_ACPI_PM_PORT, .len = 6, .read = pm_read,
			       .write = pm_write, .opaque = pm};
	return vs_bus_register(&vm->pio, &pm->dev, err);
}

void vs_acpi_pm_save(const vs_acpi_pm *pm, vs_snap_acpi_pm *o)
{
	*o = (vs_snap_acpi_pm){.sts = pm->sts, .en = pm->en, .cnt = pm->cnt};
}

void vs_acpi_pm_restore(vs_acpi_pm *pm, const vs_snap_acpi_pm *o)
{
	pm->sts = o->sts;
	pm->en = o->en;
	pm->cnt = o->cnt & (uint16_t)~CNT_SLP_EN;
}
