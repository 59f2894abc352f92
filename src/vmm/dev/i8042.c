/* i8042 keyboard controller. There is no keyboard behind it: Linux is
 * started with i8042.dumbkbd/noaux and only probes the controller; the one
 * command that matters is 0xfe (pulse the CPU reset line), which is how
 * `reboot=k` reboots and how we end the VM. */
#include "vmm/dev/legacy.h"

#include <stdbool.h>
#include <string.h>

#define ST_OBF 0x01    /* output buffer full */
#define ST_SYS 0x04    /* system flag: self-test passed */
#define ST_UNLOCKED 0x10 /* keyboard not inhibited (no keylock) */
#define ST_CMD 0x08    /* last write was a command */

static void push(vs_i8042 *k, uint8_t b)
{
	if (k->out_len < sizeof(k->out))
		k->out[k->out_len++] = b;
}

static uint8_t pop(vs_i8042 *k)
{
	if (!k->out_len)
		return 0;
	uint8_t b = k->out[0];
	memmove(k->out, k->out + 1, --k->out_len);
	return b;
}

static void command(vs_i8042 *k, uint8_t c)
{
	switch (c) {
	case 0x20: /* read configuration byte */
		push(k, k->ctr);
		break;
	case 0x60: /* write configuration byte: data follows */
	case 0xd1: /* write output port: data follows */
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write aux output buffer */
	case 0xd4: /* write to aux device */
		k->pending_cmd = c;
		break;
	case 0xa7: /* disable aux */
		k->ctr |= 0x20;
		break;
	case 0xa8: /* enable aux */
		k->ctr &= (uint8_t)~0x20;
		break;
	case 0xa9: /* aux interface test: 0 = ok */
	case 0xab: /* keyboard interface test: 0 = ok */
		push(k, 0x00);
		break;
	case 0xaa: /* controller self test */
		push(k, 0x55);
		break;
	case 0xad: /* disable keyboard */
		k->ctr |= 0x10;
		break;
	case 0xae: /* enable keyboard */
		k->ctr &= (uint8_t)~0x10;
		break;
	case 0xfe: /* pulse reset line */
		vs_vm_request_stop(k->vm, VS_STOP_RESET, 0, NULL);
		break;
	default:
		break;
	}
}

static void data_write(vs_i8042 *k, uint8_t v)
{
	uint8_t c = k->pending_cmd;
	k->pending_cmd = 0;
	switch (c) {
	case 0x60:
		k->ctr = v;
		break;
	case 0xd1:
		if (!(v & 1)) /* output port bit 0 low = CPU reset */
			vs_vm_request_stop(k->vm, VS_STOP_RESET, 0, NULL);
		break;
	case 0xd2:
	case 0xd3:
		push(k, v);
		break;
	case 0xd4:
		break; /* no aux device: swallow */
	default:
		/* A byte for the keyboard itself; nobody is there, but ACK it so a
		 * probing driver sees a sane answer. */
		push(k, 0xfa);
		break;
	}
}

static void cmd_read(vs_bus_dev *d, uint64_t off, void *data, unsigned size)
{
	(void)off;
	vs_i8042 *k = d->opaque;
	memset(data, 0, size);
	pthread_mutex_lock(&k->mu);
	*(uint8_t *)data = ST_SYS | ST_UNLOCKED | (k->pending_cmd ? ST_CMD : 0) | (k->out_len ? ST_OBF : 0);
	pthread_mutex_unlock(&k->mu);
}

static void cmd_write(vs_bus_dev *d, uint64_t off, const void *data, unsigned size)
{
	(void)off;
	(void)size;
	vs_i8042 *k = d->opaque;
	pthread_mutex_lock(&k->mu);
	command(k, *(const uint8_t *)data);
	pthread_mutex_unlock(&k->mu);
}

static void data_read(vs_bus_dev *d, uint64_t off, void *data, unsigned size)
{
	(void)off;
	vs_i8042 *k = d->opaque;
	memset(data, 0, size);
	pthread_mutex_lock(&k->mu);
	*(uint8_t *)data = pop(k);
	pthread_mutex_unlock(&k->mu);
}

static void data_write_cb(vs_bus_dev *d, uint64_t off, const void *data, unsigned size)
{
	(void)off;
	(void)size;
	vs_i8042 *k = d->opaque;
	pthread_mutex_lock(&k->mu);
	data_write(k, *(const uint8_t *)data);
	pthread_mutex_unlock(&k->mu);
}

void vs_i8042_ctrl_alt_del(vs_i8042 *k)
{
	static const uint8_t keys[] = {0x14, 0x11, 0xe0, 0x71}; /* Ctrl, Alt, Del (extended) */
	pthread_mutex_lock(&k->mu);
	for (size_t i = 0; i < sizeof(keys); i++)
		push(k, keys[i]);
	bool irq = k->ctr & 0x01; /* keyboard interrupt enabled */
	pthread_mutex_unlock(&k->mu);
	if (irq) { /* ISA IRQ 1 is edge-triggered */
		vs_vm_irq_line(k->vm, 1, 1);
		vs_vm_irq_line(k->vm, 1, 0);
	}
}

int vs_i8042_add(vs_i8042 *k, vs_vm *vm, vs_err *err)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->mu, NULL);
	k->vm = vm;
	k->ctr = 0x30; /* keyboard and aux disabled, no interrupts */
	k->data_port = (vs_bus_dev){.name = "i8042-data", .base = 0x60, .len = 1, .read = data_read,
				    .write = data_write_cb, .opaque = k};
	k->cmd_port = (vs_bus_dev){.name = "i8042-cmd", .base = 0x64, .len = 1, .read = cmd_read,
				   .write = cmd_write, .opaque = k};
	if (vs_bus_register(&vm->pio, &k->data_port, err) < 0 || vs_bus_register(&vm->pio, &k->cmd_port, err) < 0)
		return -1;
	return 0;
}

void vs_i8042_save(vs_i8042 *k, vs_snap_i8042 *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_lock(&k->mu);
	o->ctr = k->ctr;
	o->out_len = (uint8_t)k->out_len;
	o->pending_cmd = k->pending_cmd;
	memcpy(o->out, k->out, sizeof(o->out));
	pthread_mutex_unlock(&k->mu);
}

void vs_i8042_restore(vs_i8042 *k, const vs_snap_i8042 *o)
{
	pthread_mutex_lock(&k->mu);
	k->ctr = o->ctr;
	k->out_len = o->out_len > sizeof(k->out) ? sizeof(k->out) : o->out_len;
	k->pending_cmd = o->pending_cmd;
	memcpy(k->out, o->out, sizeof(k->out));
	pthread_mutex_unlock(&k->mu);
}
