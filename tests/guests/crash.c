/* Executes an undefined instruction. With no IDT the CPU cannot deliver the
 * exception and shuts down (triple fault); the VMM must report a crash
 * (exit status 4), not hang or die itself. */
#include "guest.h"

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	(void)ram_size;
	(void)n_virtio;
	puts_serial("about to crash\n");
	__asm__ volatile("ud2");
	exit_status(99); /* not reached */
}
