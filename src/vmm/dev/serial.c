#include "vmm/dev/serial.h"

#include <string.h>

/* Register offsets (DLAB=0 unless noted). */
enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IER_RDA 0x01
#define IER_THRE 0x02
#define IER_RLS 0x04
#define IER_MSI 0x08
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_FIFO 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10

/* Highest-priority pending, enabled interrupt as an IIR value. */
static uint8_t pending_iir(const vs_serial *s)
{
	if ((s->ier & IER_RLS) && s->lsr_err)
		return IIR_RLS;
	if ((s->ier & IER_RDA) && s->rx_len)
		return IIR_RDA;
	if ((s->ier & IER_THRE) && s->thre_pending)
		return IIR_THRE;
	return IIR_NONE;
}

/* The UART's INTR output follows "some enabled interrupt pending"; the
 * interrupt controller sees its edges (ISA IRQs are edge-triggered). */
static void update_irq(vs_serial *s)
{
	int level = pending_iir(s) != IIR_NONE;
	/* In loopback mode the chip's interrupt output is disconnected (OUT2 off). */
	if (level != s->irq_level) {
		s->irq_level = level;
		vs_irq_set(&s->irq, level);
	}
}

static void rx_push(vs_serial *s, uint8_t b)
{
	if (s->rx_len == VS_SERIAL_FIFO) {
		s->lsr_err |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_len++) % VS_SERIAL_FIFO] = b;
}

static void transmit(vs_serial *s, uint8_t b)
{
	if (s->mcr & MCR_LOOP)
		rx_push(s, b);
	else if (s->out)
		s->out(s->out_opaque, b);
	/* The byte left at once: THR is empty again. */
	s->thre_pending = 1;
}

static uint8_t reg_read(vs_serial *s, unsigned off)
{
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->rx_len)
			return 0;
		uint8_t b = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % VS_SERIAL_FIFO;
		s->rx_len--;
		return b;
	case IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case IIR_FCR: {
		uint8_t iir = pending_iir(s);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if (iir == IIR_THRE)
			s->thre_pending = 0;
		return iir | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	}
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR: {
		uint8_t lsr = LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0) | s->lsr_err;
		s->lsr_err = 0;
		return lsr;
	}
	case MSR:
		if (s->mcr & MCR_LOOP) /* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
			return (uint8_t)(((s->mcr & 0x1) << 5) | ((s->mcr & 0x2) << 3) | ((s->mcr & 0x4) << 4) |
					 ((s->mcr & 0x8) << 4));
		return 0xb0; /* DCD, DSR, CTS: a cable with someone on the other end */
	case SCR:
		return s->scr;
	}
	return 0xff;
}

static void reg_write(vs_serial *s, unsigned off, uint8_t v)
{
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			transmit(s, v);
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRE while THR is empty raises it right away; Linux's
		 * 8250 driver depends on this to start transmitting. */
		if ((v & IER_THRE) && !(s->ier & IER_THRE))
			s->thre_pending = 1;
		s->ier = v & 0x0f;
		break;
	case IIR_FCR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX)
			s->rx_len = 0;
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default: /* LSR, MSR: read-only */
		break;
	}
	update_irq(s);
}

static void on_read(vs_bus_dev *d, uint64_t off, void *data, unsigned size)
{
	vs_serial *s = d->opaque;
	memset(data, 0, size);
	pthread_mutex_lock(&s->lock);
	*(uint8_t *)data = reg_read(s, (unsigned)off);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void on_write(vs_bus_dev *d, uint64_t off, const void *data, unsigned size)
{
	(void)size;
	vs_serial *s = d->opaque;
	pthread_mutex_lock(&s->lock);
	reg_write(s, (unsigned)off, *(const uint8_t *)data);
	pthread_mutex_unlock(&s->lock);
}

int vs_serial_add(vs_serial *s, vs_bus *pio, uint16_t port, vs_irq irq,
		  void (*out)(void *opaque, uint8_t byte), void *out_opaque, vs_err *err)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->irq = irq;
	s->out = out;
	s->out_opaque = out_opaque;
	s->lcr = 0x03; /* 8N1 */
	s->mcr = 0x08; /* OUT2 */
	s->dll = 0x0c; /* 9600 baud */
	s->dev = (vs_bus_dev){.name = "serial", .base = port, .len = 8, .read = on_read, .write = on_write, .opaque = s};
	return vs_bus_register(pio, &s->dev, err);
}

size_t vs_serial_room(vs_serial *s)
{
	pthread_mutex_lock(&s->lock);
	size_t room = VS_SERIAL_FIFO - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return room;
}

size_t vs_serial_input(vs_serial *s, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	size_t n = 0;
	for (; n < len && s->rx_len < VS_SERIAL_FIFO; n++)
		rx_push(s, buf[n]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void vs_serial_save(vs_serial *s, vs_snap_serial *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_lock(&s->lock);
	*o = (vs_snap_serial){.ier = s->ier, .lcr = s->lcr, .mcr = s->mcr, .scr = s->scr, .dll = s->dll,
			      .dlm = s->dlm, .fcr = s->fcr, .lsr_err = s->lsr_err,
			      .thre_pending = (uint8_t)!!s->thre_pending, .irq_level = (uint8_t)!!s->irq_level,
			      .rx_head = (uint8_t)s->rx_head, .rx_len = (uint8_t)s->rx_len};
	memcpy(o->rx, s->rx, sizeof(o->rx));
	pthread_mutex_unlock(&s->lock);
}

void vs_serial_restore(vs_serial *s, const vs_snap_serial *o)
{
	pthread_mutex_lock(&s->lock);
	s->ier = o->ier, s->lcr = o->lcr, s->mcr = o->mcr, s->scr = o->scr;
	s->dll = o->dll, s->dlm = o->dlm, s->fcr = o->fcr, s->lsr_err = o->lsr_err;
	s->thre_pending = o->thre_pending, s->irq_level = o->irq_level;
	s->rx_head = o->rx_head % VS_SERIAL_FIFO, s->rx_len = o->rx_len > VS_SERIAL_FIFO ? VS_SERIAL_FIFO : o->rx_len;
	memcpy(s->rx, o->rx, sizeof(s->rx));
	pthread_mutex_unlock(&s->lock);
}
