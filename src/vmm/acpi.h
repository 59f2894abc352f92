/* Minimal ACPI tables: RSDP -> XSDT -> FADT (+FACS, DSDT) and MADT.
 * Why ACPI rather than an MP table: the Debian kernel discovers virtio-mmio
 * devices only through ACPI (LNRO0005; its CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES
 * is off), and `poweroff` needs ACPI S5 to reach the VMM (without a power-off
 * method Linux just halts). The MADT also describes the vCPUs and IOAPIC. */
#ifndef VS_VMM_ACPI_H
#define VS_VMM_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "vmm/memory.h"

#define VS_ACPI_MAX_DEVS 18

typedef struct vs_acpi_config {
	unsigned ncpus;
	unsigned n_virtio;
	uint64_t virtio_base[VS_ACPI_MAX_DEVS];
	unsigned virtio_gsi[VS_ACPI_MAX_DEVS];
	bool pvpanic;
} vs_acpi_config;

/* Write the tables into [VS_ACPI_ADDR, VS_ACPI_END); *rsdp gets the RSDP address. */
int vs_acpi_write(const vs_gmem *mem, const vs_acpi_config *cfg, uint64_t *rsdp, vs_err *err);

/* Exposed for tests: the AML of the DSDT body (after the header). */
int vs_acpi_dsdt_aml(const vs_acpi_config *cfg, uint8_t *buf, size_t cap, size_t *len);

#endif
