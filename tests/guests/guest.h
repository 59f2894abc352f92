/* Helpers for ring-3 test guests (see README.md): port I/O, MMIO, the
 * serial port and the ways to end the VM. Freestanding: no libc. */
#ifndef VS_GUEST_H
#define VS_GUEST_H

#include <stddef.h>
#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT 0x501
#define VIRTIO_MMIO_BASE 0xd0000000ULL
#define VIRTIO_MMIO_SIZE 0x1000ULL
#define FREE_MEM 0x400000ULL /* free guest RAM for queues and buffers */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }

static inline void putc_serial(char c)
{
	while (!(inb(COM1 + 5) & 0x20)) /* LSR.THRE */
		;
	outb(COM1, (uint8_t)c);
}
static inline void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}
static inline void puthex(uint64_t v)
{
	for (int i = 60; i >= 0; i -= 4)
		putc_serial("0123456789abcdef"[(v >> i) & 0xf]);
}
/* Block until a byte arrives on the serial port. */
static inline char getc_serial(void)
{
	while (!(inb(COM1 + 5) & 0x01)) /* LSR.DR */
		;
	return (char)inb(COM1);
}
/* End the VM with `status` (debug-exit port, ring-3 mode only). */
static inline __attribute__((noreturn)) void exit_status(uint8_t status)
{
	outb(DEBUG_EXIT, status);
	for (;;)
		;
}
/* Reset through the i8042: `vessel` exits 0. */
static inline __attribute__((noreturn)) void reset(void)
{
	outb(0x64, 0xfe);
	for (;;)
		;
}

static inline void *memset_g(void *d, int c, size_t n)
{
	volatile uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void guest_main(uint64_t ram_size, uint64_t n_virtio);

#endif
