/* Test-guest exit port: lets a ring-3 guest end the run with a status of
 * its choosing (pass/fail of an in-guest test). Never wired for Linux. */
#include "vmm/dev/legacy.h"

#include "vmm/layout.h"

static void dx_write(vs_bus_dev *d, uint64_t off, const void *data, unsigned size)
{
	(void)off;
	(void)size;
	vs_debug_exit *x = d->opaque;
	vs_vm_request_stop(x->vm, VS_STOP_EXIT, *(const uint8_t *)data, NULL);
}

int vs_debug_exit_add(vs_debug_exit *d, vs_vm *vm, vs_err *err)
{
	d->vm = vm;
	d->dev = (vs_bus_dev){.name = "debug-exit", .base = VS_DEBUG_EXIT_PORT, .len = 1, .write = dx_write,
			      .opaque = d};
	return vs_bus_register(&vm->pio, &d->dev, err);
}
