/* Prints a greeting, echoes one line of input upper-cased, then resets
 * through the i8042 (or exits with the status given as the first input
 * character when it is a digit). Exercises UART output, input and reset. */
#include "guest.h"

void guest_main(uint64_t ram_size, uint64_t n_virtio)
{
	puts_serial("hello from ring 3\n");
	puts_serial("ram=");
	puthex(ram_size);
	puts_serial(" virtio=");
	puthex(n_virtio);
	puts_serial("\n");
	char c = getc_serial();
	if (c >= '1' && c <= '9')
		exit_status((uint8_t)(c - '0'));
	while (c != '\n' && c != '\r') {
		putc_serial(c >= 'a' && c <= 'z' ? (char)(c - 32) : c);
		c = getc_serial();
	}
	puts_serial("\nbye\n");
	reset();
}
