/* Prints "tick N" about every 100 million TSC cycles, forever, so a test
 * can see guest execution stop (pause) and go on (resume). Polls the
 * i8042: a Del scan code (0x71, as SendCtrlAltDel presses it) prints
 * "ctrl-alt-del" and resets (status 0). */
#include "guest.h"

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	(void)ram_size;
	(void)n_virtio;
	puts_serial("ticker up\n");
	for (uint64_t n = 0;; n++) {
		puts_serial("tick ");
		puthex(n);
		puts_serial("\n");
		uint64_t t0 = rdtsc();
		while (rdtsc() - t0 < 100000000ull) {
			if (inb(0x64) & 0x01 && inb(0x60) == 0x71) {
				puts_serial("ctrl-alt-del\n");
				reset();
			}
		}
	}
}
