/* Legacy devices as the guest sees them through the port bus: the 16550A
 * UART's registers and interrupt line, the i8042 reset, ACPI power-off,
 * and the console's panic watcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/console.h"
#include "vmm/dev/legacy.h"
#include "vmm/dev/serial.h"
#include "vmm/layout.h"
#include "vmm/vm.h"

static int irq_level, irq_edges;
static char out[256];
static size_t out_len;

static void fake_irq(void *vm, unsigned gsi, int level)
{
	(void)vm;
	assert_int_equal(gsi, 4);
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static void sink(void *opaque, uint8_t b)
{
	(void)opaque;
	if (out_len < sizeof(out))
		out[out_len++] = (char)b;
}

static vs_bus pio;
static vs_serial uart;

static uint8_t in8(uint16_t port)
{
	uint8_t v = 0;
	vs_bus_access(&pio, port, &v, 1, 0);
	return v;
}
static void out8(uint16_t port, uint8_t v)
{
	vs_bus_access(&pio, port, &v, 1, 1);
}

static int setup_uart(void **state)
{
	(void)state;
	vs_bus_init(&pio, "pio");
	irq_level = irq_edges = 0;
	out_len = 0;
	vs_err err;
	vs_irq irq = {.set = fake_irq, .gsi = 4};
	assert_int_equal(vs_serial_add(&uart, &pio, 0x3f8, irq, sink, NULL, &err), 0);
	return 0;
}

static void test_uart_transmit_and_lsr(void **state)
{
	(void)state;
	assert_int_equal(in8(0x3fd) & 0x60, 0x60); /* THRE + TEMT: ready to send */
	out8(0x3f8, 'h');
	out8(0x3f8, 'i');
	assert_int_equal(out_len, 2);
	assert_memory_equal(out, "hi", 2);
}

static void test_uart_thre_interrupt(void **state)
{
	(void)state;
	assert_int_equal(in8(0x3fa) & 0x0f, 0x01); /* no interrupt pending */
	out8(0x3f9, 0x02);                          /* IER: THRE */
	assert_int_equal(irq_level, 1);             /* raised at once: THR is empty */
	assert_int_equal(in8(0x3fa) & 0x0f, 0x02);  /* IIR says THRE ... */
	assert_int_equal(irq_level, 0);             /* ... and reading it acknowledged */
	assert_int_equal(in8(0x3fa) & 0x0f, 0x01);
	out8(0x3f8, 'x'); /* the byte leaves at once: THRE again, a new edge */
	assert_int_equal(irq_level, 1);
	assert_int_equal(irq_edges, 2);
	out8(0x3f9, 0x00); /* masking drops the line */
	assert_int_equal(irq_level, 0);
}

static void test_uart_receive(void **state)
{
	(void)state;
	out8(0x3f9, 0x01); /* IER: received data */
	assert_int_equal(irq_level, 0);
	assert_int_equal(vs_serial_input(&uart, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(0x3fa) & 0x0f, 0x04);
	assert_int_equal(in8(0x3fd) & 0x01, 0x01);
	assert_int_equal(in8(0x3f8), 'a');
	assert_int_equal(in8(0x3f8), 'b');
	assert_int_equal(in8(0x3fd) & 0x01, 0x00);
	assert_int_equal(irq_level, 0);
	/* The FIFO holds 16 bytes; the rest is left for the caller to retry. */
	uint8_t many[40];
	memset(many, 'z', sizeof(many));
	assert_int_equal(vs_serial_input(&uart, many, sizeof(many)), VS_SERIAL_FIFO);
	assert_int_equal(vs_serial_room(&uart), 0);
	out8(0x3fa, 0x03); /* FCR: enable + clear RX */
	assert_int_equal(vs_serial_room(&uart), VS_SERIAL_FIFO);
	assert_int_equal(in8(0x3fa) & 0xc0, 0xc0); /* FIFOs enabled, as a 16550A reports */
}

static void test_uart_loopback_and_divisor(void **state)
{
	(void)state;
	/* Linux's 8250 probe: MCR loop + RTS + OUT2 must read back CTS + DCD. */
	out8(0x3fc, 0x1a);
	assert_int_equal(in8(0x3fe) & 0xf0, 0x90);
	out8(0x3f8, 'L'); /* looped back, not transmitted */
	assert_int_equal(out_len, 0);
	assert_int_equal(in8(0x3f8), 'L');
	out8(0x3fc, 0x08);
	out8(0x3fb, 0x83); /* DLAB */
	out8(0x3f8, 0x01);
	out8(0x3f9, 0x00);
	assert_int_equal(in8(0x3f8), 0x01);
	out8(0x3fb, 0x03);
	assert_int_equal(in8(0x3f9), 0x00); /* IER again, untouched by the divisor write */
	out8(0x3ff, 0x5a);
	assert_int_equal(in8(0x3ff), 0x5a); /* scratch */
}

/* Snapshot: registers, pending input and the interrupt state come back in
 * a new UART; the guest reads on where it stopped. */
static void test_uart_snapshot_round_trip(void **state)
{
	(void)state;
	out8(0x3fb, 0x1b); /* LCR: 8E1, odd value on purpose */
	out8(0x3ff, 0x42); /* scratch */
	out8(0x3f9, 0x01); /* IER: RDA */
	vs_serial_input(&uart, (const uint8_t *)"abc", 3);
	assert_int_equal(in8(0x3f8), 'a');
	assert_int_equal(irq_level, 1);
	vs_snap_serial snap;
	vs_serial_save(&uart, &snap);
	assert_int_equal(snap.rx_len, 2);
	setup_uart(NULL);
	vs_serial_restore(&uart, &snap);
	assert_int_equal(in8(0x3fb), 0x1b);
	assert_int_equal(in8(0x3ff), 0x42);
	assert_int_equal(in8(0x3fa) & 0x0f, 0x04); /* IIR: data available */
	assert_int_equal(in8(0x3f8), 'b');
	assert_int_equal(in8(0x3f8), 'c');
	assert_int_equal(in8(0x3fd) & 0x01, 0); /* FIFO empty now */
}

static void test_i8042_reset_and_probe(void **state)
{
	(void)state;
	vs_vm vm;
	memset(&vm, 0, sizeof(vm));
	vm.stop_efd = -1;
	vs_bus_init(&vm.pio, "pio");
	vs_i8042 k;
	vs_err err;
	assert_int_equal(vs_i8042_add(&k, &vm, &err), 0);
	uint8_t v = 0xaa;
	vs_bus_access(&vm.pio, 0x64, &v, 1, 1); /* self test */
	vs_bus_access(&vm.pio, 0x64, &v, 1, 0);
	assert_int_equal(v & 0x01, 0x01);
	vs_bus_access(&vm.pio, 0x60, &v, 1, 0);
	assert_int_equal(v, 0x55);
	assert_int_equal(atomic_load(&vm.stop), VS_STOP_NONE);
	v = 0xfe;
	vs_bus_access(&vm.pio, 0x64, &v, 1, 1);
	assert_int_equal(atomic_load(&vm.stop), VS_STOP_RESET);
}

static void test_acpi_poweroff(void **state)
{
	(void)state;
	vs_vm vm;
	memset(&vm, 0, sizeof(vm));
	vm.stop_efd = -1;
	vs_bus_init(&vm.pio, "pio");
	vs_acpi_pm pm;
	vs_err err;
	assert_int_equal(vs_acpi_pm_add(&pm, &vm, &err), 0);
	uint16_t cnt = 0;
	vs_bus_access(&vm.pio, VS_ACPI_PM_PORT + 4, &cnt, 2, 0);
	assert_int_equal(cnt & 1, 1); /* SCI_EN: already in ACPI mode */
	cnt = 5 << 10; /* SLP_TYP alone does nothing */
	vs_bus_access(&vm.pio, VS_ACPI_PM_PORT + 4, &cnt, 2, 1);
	assert_int_equal(atomic_load(&vm.stop), VS_STOP_NONE);
	cnt = (1 << 10) | (1 << 13); /* another sleep state: not power-off */
	vs_bus_access(&vm.pio, VS_ACPI_PM_PORT + 4, &cnt, 2, 1);
	assert_int_equal(atomic_load(&vm.stop), VS_STOP_NONE);
	cnt = (5 << 10) | (1 << 13);
	vs_bus_access(&vm.pio, VS_ACPI_PM_PORT + 4, &cnt, 2, 1);
	assert_int_equal(atomic_load(&vm.stop), VS_STOP_POWEROFF);
}

static void test_panic_watch(void **state)
{
	(void)state;
	vs_console c;
	vs_console_init(&c, -1, -1);
	const char *text = "[ 1.0] Kernel Kernel panic - not syncin\n[ 2.0] KKernel panic - not syncing: VFS";
	bool seen = false;
	for (const char *p = text; *p; p++)
		seen |= vs_console_watch(&c, (uint8_t)*p);
	assert_true(seen);
	assert_true(atomic_load(&c.panicked));
	vs_console_init(&c, -1, -1);
	for (const char *p = "Kernel panic - not syncin"; *p; p++)
		vs_console_watch(&c, (uint8_t)*p);
	assert_false(atomic_load(&c.panicked));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_uart_transmit_and_lsr, setup_uart),
		cmocka_unit_test_setup(test_uart_thre_interrupt, setup_uart),
		cmocka_unit_test_setup(test_uart_receive, setup_uart),
		cmocka_unit_test_setup(test_uart_loopback_and_divisor, setup_uart),
		cmocka_unit_test_setup(test_uart_snapshot_round_trip, setup_uart),
		cmocka_unit_test(test_i8042_reset_and_probe),
		cmocka_unit_test(test_acpi_poweroff),
		cmocka_unit_test(test_panic_watch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
