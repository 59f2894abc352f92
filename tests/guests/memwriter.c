/* A guest that keeps writing memory, for live migration: sweep after
 * sweep it stamps the sweep number into every page of a region (8 MiB
 * from 8 MiB up), first checking that each page still holds the previous
 * sweep's stamp, so a page lost or stale after a migration ends the VM
 * with status 9 ("memwriter: page N stale"). The sweep counter lives in
 * guest memory too. About every 100 million TSC cycles it prints
 * "sweep N" (hex); a byte on the serial port is answered "echo C". */
#include "guest.h"

#define REGION 0x800000ULL
#define REGION_PAGES 2048ULL

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	(void)n_virtio;
	if (ram_size < REGION + REGION_PAGES * 4096)
		exit_status(8);
	volatile uint64_t *sweep = (volatile uint64_t *)FREE_MEM;
	*sweep = 0;
	puts_serial("memwriter up\n");
	uint64_t t0 = rdtsc();
	for (;;) {
		uint64_t s = *sweep;
		for (uint64_t p = 0; p < REGION_PAGES; p++) {
			volatile uint64_t *pg = (volatile uint64_t *)(REGION + p * 4096);
			if (s && (pg[0] != s - 1 || pg[511] != ~(s - 1))) {
				puts_serial("memwriter: page ");
				puthex(p);
				puts_serial(" stale\n");
				exit_status(9);
			}
			pg[0] = s;
			pg[511] = ~s;
		}
		*sweep = s + 1;
		if (rdtsc() - t0 > 100000000ull) {
			puts_serial("sweep ");
			puthex(s);
			puts_serial("\n");
			t0 = rdtsc();
		}
		if (inb(COM1 + 5) & 0x01) {
			char c = (char)inb(COM1);
			puts_serial("echo ");
			putc_serial(c);
			puts_serial("\n");
		}
	}
}
