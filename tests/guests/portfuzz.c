/* A hostile guest poking every ISA I/O port and the MMIO hole with junk
 * (except the two ports that end the run), then unclaimed MMIO and the
 * virtio windows with odd sizes. The VMM must survive and let us finish:
 * we end with debug-exit status 42. */
#include "guest.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)rng;
}

static void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	(void)ram_size;
	(void)n_virtio;
	puts_serial("portfuzz start\n");
	/* The ISA range, where every VMM device lives. (Higher ports are all
	 * unclaimed; on PVM hosts junk at some of them, e.g. 0x287d, stops
	 * the VM inside KVM itself, which is not what this guest tests.) */
	for (uint32_t port = 0; port < 0x1000; port++) {
		/* 0x64/0x60 could reset, 0x501 ends the run, 0x3f8..0x3ff is our
		 * console. The PIC, PIT, ELCR and speaker ports belong to KVM's
		 * in-kernel devices: junk there arms timer interrupts that a
		 * guest without an IDT cannot take (PVM delivers them in ring 3). */
		if (port == 0x64 || port == 0x60 || port == 0x501 || (port >= 0x3f8 && port <= 0x3ff) ||
		    (port >= 0x20 && port <= 0x21) || (port >= 0x40 && port <= 0x43) || port == 0x61 ||
		    (port >= 0xa0 && port <= 0xa1) || (port >= 0x4d0 && port <= 0x4d1))
			continue;
		(void)inb((uint16_t)port);
		outb((uint16_t)port, rnd8());
		if ( (port < 0x3f4 || port > 0x3ff) && (port < 0x5d || port > 0x64) &&
		    (port < 0x4fe || port > 0x501) && (port < 0x1d || port > 0x21) && (port < 0x3d || port > 0x43) &&
		    (port < 0x9d || port > 0xa1) && (port < 0x4cd || port > 0x4d1)) {
			outw((uint16_t)port, (uint16_t)(rnd8() << 8 | rnd8()));
			outl((uint16_t)port, (uint32_t)rnd8() << 24 | rnd8());
			(void)inl((uint16_t)port);
		}
	}
	puts_serial("ports done\n");
	/* Unclaimed MMIO in the hole, and the IOAPIC/LAPIC windows (in-kernel). */
	for (uint64_t a = 0xc0000000ull; a < 0xd0000000ull; a += 0x1000000)
		(void)mmio_read32(a);
	for (uint64_t a = 0xe0000000ull; a < 0xfec00000ull; a += 0x1000000) {
		mmio_write32(a, 0xdeadbeef);
		(void)mmio_read8(a + 3);
	}
	/* The virtio windows with junk at every register, reads of odd sizes. */
	for (uint64_t i = 0; i < n_virtio; i++) {
		uint64_t b = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE;
		for (uint64_t off = 0; off < 0x200; off += 4) {
			(void)mmio_read8(b + off + 1);
			if (off != 0x70) /* leave Status alone: a reset is fine, but keep it simple */
				mmio_write32(b + off, (uint32_t)rnd8() * 0x01010101u);
		}
	}
	puts_serial("portfuzz survived\n");
	exit_status(42);
}
