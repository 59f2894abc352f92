/* ACPI table layout per the ACPI 6.x specification, chapter 5 (tables) and
 * chapter 20 (AML encoding). All tables sit in the e820-reserved BIOS area
 * at VS_ACPI_ADDR; every table's bytes sum to zero. */
#include "vmm/acpi.h"

#include <errno.h>
#include <string.h>

#include "vmm/dev/legacy.h"
#include "vmm/layout.h"

#define HDR 36

/* A little byte writer with bounds checking. */
typedef struct {
	uint8_t *p;
	size_t len, cap;
	int overflow;
} buf_t;

static void put(buf_t *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}
static void put8(buf_t *b, uint8_t v) { put(b, &v, 1); }
static void put16(buf_t *b, uint16_t v) { put(b, &v, 2); }
static void put32(buf_t *b, uint32_t v) { put(b, &v, 4); }
static void put64(buf_t *b, uint64_t v) { put(b, &v, 8); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return (uint8_t)(0 - s);
}

/* Standard header; length and checksum are patched by finish(). */
static void header(buf_t *b, const char sig[4], uint8_t rev)
{
	put(b, sig, 4);
	put32(b, 0);
	put8(b, rev);
	put8(b, 0);
	put(b, "VESSEL", 6);
	put(b, "VESSELVM", 8);
	put32(b, 1);
	put(b, "VSSL", 4);
	put32(b, 1);
}

static void finish(buf_t *b)
{
	uint32_t len = (uint32_t)b->len;
	memcpy(b->p + 4, &len, 4);
	b->p[9] = 0;
	b->p[9] = checksum(b->p, b->len);
}

/* AML PkgLength for a package whose contents (after PkgLength) are n bytes. */
static void aml_pkglen(buf_t *b, size_t n)
{
	if (n + 1 < 0x40) {
		put8(b, (uint8_t)(n + 1));
	} else if (n + 2 < 0x1000) {
		size_t t = n + 2;
		put8(b, (uint8_t)(0x40 | (t & 0xf)));
		put8(b, (uint8_t)(t >> 4));
	} else {
		size_t t = n + 3;
		put8(b, (uint8_t)(0x80 | (t & 0xf)));
		put8(b, (uint8_t)(t >> 4));
		put8(b, (uint8_t)(t >> 12));
	}
}

/* Device (name) { _HID hid; _UID uid; _CRS res } */
static void aml_device(buf_t *b, const char name[4], const char *hid, uint8_t uid, const uint8_t *res, size_t rlen)
{
	uint8_t body[160];
	buf_t d = {body, 0, sizeof(body), 0};
	put(&d, name, 4);
	put8(&d, 0x08); /* NameOp _HID "..." */
	put(&d, "_HID", 4);
	put8(&d, 0x0d);
	put(&d, hid, strlen(hid) + 1);
	put8(&d, 0x08); /* NameOp _UID ByteConst */
	put(&d, "_UID", 4);
	put8(&d, 0x0a);
	put8(&d, uid);
	put8(&d, 0x08); /* NameOp _CRS Buffer */
	put(&d, "_CRS", 4);
	put8(&d, 0x11);
	aml_pkglen(&d, 2 + rlen);
	put8(&d, 0x0a);
	put8(&d, (uint8_t)rlen);
	put(&d, res, rlen);
	put8(b, 0x5b); /* DeviceOp */
	put8(b, 0x82);
	aml_pkglen(b, d.len);
	put(b, body, d.len);
	b->overflow |= d.overflow;
}

int vs_acpi_dsdt_aml(const vs_acpi_config *cfg, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t sb[2048];
	buf_t s = {sb, 0, sizeof(sb), 0};
	for (unsigned i = 0; i < cfg->n_virtio; i++) {
		/* Memory32Fixed(ReadWrite, base, 4K) + Interrupt(Consumer, Level,
		 * ActiveHigh, Exclusive) {gsi} + EndTag. */
		uint8_t res[23] = {0x86, 0x09, 0x00, 0x01};
		uint32_t base = (uint32_t)cfg->virtio_base[i], size = 0x1000, gsi = cfg->virtio_gsi[i];
		memcpy(res + 4, &base, 4);
		memcpy(res + 8, &size, 4);
		uint8_t irq[9] = {0x89, 0x06, 0x00, 0x01, 0x01};
		memcpy(irq + 5, &gsi, 4);
		memcpy(res + 12, irq, 9);
		res[21] = 0x79;
		res[22] = 0x00;
		char name[5];
		name[0] = 'V';
		name[1] = "0123456789ABCDEF"[(i >> 8) & 0xf];
		name[2] = "0123456789ABCDEF"[(i >> 4) & 0xf];
		name[3] = "0123456789ABCDEF"[i & 0xf];
		aml_device(&s, name, "LNRO0005", (uint8_t)i, res, sizeof(res));
	}
	if (cfg->pvpanic) {
		/* IO(Decode16, port, port, 1, 1) + EndTag. */
		uint8_t res[10] = {0x47, 0x01, VS_PVPANIC_PORT & 0xff, VS_PVPANIC_PORT >> 8,
				   VS_PVPANIC_PORT & 0xff, VS_PVPANIC_PORT >> 8, 0x01, 0x01, 0x79, 0x00};
		aml_device(&s, "PEVT", "QEMU0001", 0, res, sizeof(res));
	}
	buf_t b = {out, 0, cap, 0};
	/* Scope (\_SB) { devices } */
	put8(&b, 0x10);
	aml_pkglen(&b, 4 + s.len);
	put(&b, "_SB_", 4);
	put(&b, sb, s.len);
	/* Name (_S5, Package () {SLP_TYPa, SLP_TYPb}) */
	static const uint8_t s5[] = {0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, VS_ACPI_S5_TYP,
				     0x0a, VS_ACPI_S5_TYP};
	put(&b, s5, sizeof(s5));
	*len = b.len;
	return (b.overflow || s.overflow) ? -1 : 0;
}

static void gas_io(buf_t *b, uint16_t port, uint8_t bits)
{
	put8(b, 1); /* SystemIO */
	put8(b, bits);
	put8(b, 0);
	put8(b, bits == 16 ? 2 : 1); /* access size: word / byte */
	put64(b, port);
}

static void fadt(buf_t *b, uint32_t facs, uint32_t dsdt)
{
	header(b, "FACP", 6);
	put32(b, facs);
	put32(b, dsdt);
	put8(b, 0);            /* reserved */
	put8(b, 0);            /* preferred PM profile: unspecified */
	put16(b, 9);           /* SCI_INT (never raised) */
	put32(b, 0);           /* SMI_CMD = 0: always in ACPI mode */
	put32(b, 0);           /* ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT */
	put32(b, VS_ACPI_PM_PORT);     /* PM1a_EVT_BLK */
	put32(b, 0);                   /* PM1b_EVT_BLK */
	put32(b, VS_ACPI_PM_PORT + 4); /* PM1a_CNT_BLK */
	put32(b, 0);                   /* PM1b_CNT_BLK */
	put32(b, 0);                   /* PM2_CNT_BLK */
	put32(b, 0);                   /* PM_TMR_BLK: none (kvmclock/TSC) */
	put32(b, 0);                   /* GPE0_BLK */
	put32(b, 0);                   /* GPE1_BLK */
	put8(b, 4);                    /* PM1_EVT_LEN */
	put8(b, 2);                    /* PM1_CNT_LEN */
	put8(b, 0);                    /* PM2_CNT_LEN */
	put8(b, 0);                    /* PM_TMR_LEN */
	put32(b, 0);                   /* GPE0/1 lengths, GPE1_BASE, CST_CNT */
	put16(b, 0x0fff);              /* P_LVL2_LAT > 100: C2 unsupported */
	put16(b, 0x0fff);              /* P_LVL3_LAT > 1000: C3 unsupported */
	put32(b, 0);                   /* FLUSH_SIZE, FLUSH_STRIDE */
	put32(b, 0);                   /* DUTY_OFFSET, DUTY_WIDTH, DAY_ALRM, MON_ALRM */
	put8(b, 0);                    /* CENTURY */
	/* IAPC_BOOT_ARCH: no VGA, no MSI, no CMOS RTC; 8042 flag clear so
	 * Linux skips probing a keyboard (reboot=k still reaches port 0x64). */
	put16(b, (1 << 2) | (1 << 3) | (1 << 5));
	put8(b, 0);
	put32(b, (1 << 0) | (1 << 4) | (1 << 5)); /* WBINVD, no power/sleep buttons */
	uint8_t reset_reg[12] = {0};
	put(b, reset_reg, 12);
	put8(b, 0);            /* RESET_VALUE */
	put16(b, 0);           /* ARM_BOOT_ARCH */
	put8(b, 0);            /* FADT minor version */
	put64(b, facs);        /* X_FIRMWARE_CTRL */
	put64(b, dsdt);        /* X_DSDT */
	gas_io(b, VS_ACPI_PM_PORT, 32);     /* X_PM1a_EVT_BLK */
	uint8_t zero[12] = {0};
	put(b, zero, 12);                   /* X_PM1b_EVT_BLK */
	gas_io(b, VS_ACPI_PM_PORT + 4, 16); /* X_PM1a_CNT_BLK */
	for (int i = 0; i < 7; i++)         /* X_PM1b_CNT .. X_GPE1, SLEEP_CONTROL/STATUS */
		put(b, zero, 12);
	put(b, "VESSELVM", 8);              /* hypervisor vendor identity */
	finish(b);
}

static void madt(buf_t *b, const vs_acpi_config *cfg)
{
	header(b, "APIC", 5);
	put32(b, (uint32_t)VS_LAPIC_ADDR);
	put32(b, 1); /* PCAT_COMPAT: dual 8259s present */
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		put8(b, 0); /* processor local APIC */
		put8(b, 8);
		put8(b, (uint8_t)i);
		put8(b, (uint8_t)i);
		put32(b, 1); /* enabled */
	}
	put8(b, 1); /* I/O APIC */
	put8(b, 12);
	put8(b, (uint8_t)cfg->ncpus);
	put8(b, 0);
	put32(b, (uint32_t)VS_IOAPIC_ADDR);
	put32(b, 0);
	/* virtio lines are level-triggered, active high. */
	for (unsigned i = 0; i < cfg->n_virtio; i++) {
		put8(b, 2); /* interrupt source override */
		put8(b, 10);
		put8(b, 0);
		put8(b, (uint8_t)cfg->virtio_gsi[i]);
		put32(b, cfg->virtio_gsi[i]);
		put16(b, 0x1 | (0x3 << 2));
	}
	finish(b);
}

int vs_acpi_write(const vs_gmem *mem, const vs_acpi_config *cfg, uint64_t *rsdp_out, vs_err *err)
{
	if (cfg->ncpus == 0 || cfg->ncpus > 254 || cfg->n_virtio > VS_ACPI_MAX_DEVS)
		return vs_fail(err, EINVAL, "ACPI tables: %u vCPUs / %u devices out of range", cfg->ncpus,
			       cfg->n_virtio);
	size_t area = VS_ACPI_END - VS_ACPI_ADDR;
	uint8_t *base = vs_gmem_ptr(mem, VS_ACPI_ADDR, area, err);
	if (!base)
		return vs_wrap(err, "ACPI tables");
	memset(base, 0, area);
	/* Fixed offsets inside the area; each table gets room to spare. */
	const size_t RSDP = 0, XSDT = 0x40, FADT = 0x100, FACS = 0x240, MADT = 0x300, DSDT = 0x1000;
	uint64_t at = VS_ACPI_ADDR;

	buf_t t = {base + DSDT, 0, area - DSDT, 0};
	header(&t, "DSDT", 2);
	size_t aml;
	if (vs_acpi_dsdt_aml(cfg, t.p + HDR, t.cap - HDR, &aml) < 0)
		return vs_fail(err, ENOSPC, "ACPI DSDT does not fit");
	t.len += aml;
	finish(&t);

	uint8_t *facs = base + FACS; /* FACS: no checksum, 64-byte aligned */
	memcpy(facs, "FACS", 4);
	facs[4] = 64;
	facs[32] = 2; /* version */

	t = (buf_t){base + FADT, 0, FACS - FADT, 0};
	fadt(&t, (uint32_t)(at + FACS), (uint32_t)(at + DSDT));
	if (t.overflow)
		return vs_fail(err, ENOSPC, "ACPI FADT does not fit");
	t = (buf_t){base + MADT, 0, DSDT - MADT, 0};
	madt(&t, cfg);
	if (t.overflow)
		return vs_fail(err, ENOSPC, "ACPI MADT does not fit");

	t = (buf_t){base + XSDT, 0, FADT - XSDT, 0};
	header(&t, "XSDT", 1);
	put64(&t, at + FADT);
	put64(&t, at + MADT);
	finish(&t);

	t = (buf_t){base + RSDP, 0, XSDT - RSDP, 0};
	put(&t, "RSD PTR ", 8);
	put8(&t, 0);
	put(&t, "VESSEL", 6);
	put8(&t, 2);   /* ACPI 2.0+ */
	put32(&t, 0);  /* no RSDT */
	put32(&t, 36);
	put64(&t, at + XSDT);
	put8(&t, 0);
	put8(&t, 0);
	put16(&t, 0);
	t.p[8] = checksum(t.p, 20);
	t.p[32] = checksum(t.p, 36);
	*rsdp_out = at + RSDP;
	return 0;
}
