/* The guest's serial console on the host side: bytes the UART transmits
 * go to an fd (stdout) and through a watcher that spots the Linux panic
 * banner; a terminal on stdin is switched to non-canonical, no-echo mode
 * (Ctrl-C still signals the VMM) for the length of the run. */
#ifndef VS_VMM_CONSOLE_H
#define VS_VMM_CONSOLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

/* Linux prints this (KERN_EMERG, so on every console) when it panics. */
#define VS_PANIC_BANNER "Kernel panic - not syncing"

typedef struct vs_console {
	int out_fd;            /* -1: discard output (--console none) */
	unsigned match;        /* bytes of VS_PANIC_BANNER matched so far */
	_Atomic int panicked;  /* banner seen (or pvpanic fired) */
	int in_fd;
	bool tty_saved;
	struct termios saved;
} vs_console;

void vs_console_init(vs_console *c, int in_fd, int out_fd);
/* UART transmit sink (vs_serial out callback). */
void vs_console_out(void *opaque, uint8_t byte);
/* Feed one byte to the panic watcher; true once the banner completed. */
bool vs_console_watch(vs_console *c, uint8_t byte);
void vs_console_raw(vs_console *c);
void vs_console_restore(vs_console *c);

#endif
