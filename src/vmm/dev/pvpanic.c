/* pvpanic ISA device: one port; reading it tells the guest which events we
 * understand (bit 0: panicked), a write with bit 0 set reports a panic. */
#include "vmm/dev/legacy.h"

#include <string.h>

#include "vmm/layout.h"

#define PVPANIC_PANICKED 0x1

static void pv_read(vs_bus_dev *d, uint64_t off, void *data, unsigned size)
{
	(void)d;
	(void)off;
	memset(data, 0, size);
	*(uint8_t *)data = PVPANIC_PANICKED;
}

static void pv_write(vs_bus_dev *d, uint64_t off, const void *data, unsigned size)
{
	(void)off;
	(void)size;
	vs_pvpanic *p = d->opaque;
	if ((*(const uint8_t *)data & PVPANIC_PANICKED) && !atomic_exchange(&p->panicked, 1) && p->on_panic)
		p->on_panic(p->opaque);
}

int vs_pvpanic_add(vs_pvpanic *p, vs_bus *pio, void (*on_panic)(void *), void *opaque, vs_err *err)
{
	memset(p, 0, sizeof(*p));
	p->on_panic = on_panic;
	p->opaque = opaque;
	p->dev = (vs_bus_dev){.name = "pvpanic", .base = VS_PVPANIC_PORT, .len = 1, .read = pv_read,
			      .write = pv_write, .opaque = p};
	return vs_bus_register(pio, &p->dev, err);
}

void vs_pvpanic_save(vs_pvpanic *p, vs_snap_pvpanic *o)
{
	*o = (vs_snap_pvpanic){.panicked = (uint32_t)atomic_load(&p->panicked)};
}

/* A guest that had panicked stays so (its banner has been seen before). */
void vs_pvpanic_restore(vs_pvpanic *p, const vs_snap_pvpanic *o)
{
	atomic_store(&p->panicked, o->panicked ? 1 : 0);
}
