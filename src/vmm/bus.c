#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

void vs_bus_init(vs_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_mutex_init(&bus->lock, NULL);
}

int vs_bus_register(vs_bus *bus, vs_bus_dev *dev, vs_err *err)
{
	if (dev->len == 0 || dev->base + dev->len < dev->base)
		return vs_fail(err, EINVAL, "%s bus: register %s: bad range", bus->name, dev->name);
	if (bus->n_devs == VS_BUS_MAX_DEVS)
		return vs_fail(err, ENOSPC, "%s bus: register %s", bus->name, dev->name);
	for (unsigned i = 0; i < bus->n_devs; i++) {
		const vs_bus_dev *o = bus->devs[i];
		if (dev->base < o->base + o->len && o->base < dev->base + dev->len)
			return vs_fail(err, EBUSY, "%s bus: register %s at 0x%llx: overlaps %s", bus->name,
				       dev->name, (unsigned long long)dev->base, o->name);
	}
	bus->devs[bus->n_devs++] = dev;
	return 0;
}

int vs_bus_access(vs_bus *bus, uint64_t addr, void *data, unsigned size, int is_write)
{
	for (unsigned i = 0; i < bus->n_devs; i++) {
		vs_bus_dev *d = bus->devs[i];
		if (addr < d->base || addr - d->base >= d->len)
			continue;
		pthread_mutex_lock(&bus->lock);
		if (is_write && d->write)
			d->write(d, addr - d->base, data, size);
		else if (!is_write && d->read)
			d->read(d, addr - d->base, data, size);
		else if (!is_write)
			memset(data, 0xff, size);
		pthread_mutex_unlock(&bus->lock);
		return 0;
	}
	if (!is_write)
		memset(data, 0xff, size);
	return -1;
}
