#include "vmm/console.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void vs_console_init(vs_console *c, int in_fd, int out_fd)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->out_fd = out_fd;
}

bool vs_console_watch(vs_console *c, uint8_t byte)
{
	static const char banner[] = VS_PANIC_BANNER;
	/* The banner's first letter does not recur in it, so a mismatch can
	 * only restart a match at this byte. */
	if ((char)byte == banner[c->match])
		c->match++;
	else
		c->match = (char)byte == banner[0] ? 1 : 0;
	if (c->match == sizeof(banner) - 1) {
		c->match = 0;
		atomic_store(&c->panicked, 1);
		return true;
	}
	return false;
}

void vs_console_out(void *opaque, uint8_t byte)
{
	vs_console *c = opaque;
	vs_console_watch(c, byte);
	if (c->out_fd < 0)
		return;
	/* A closed or full reader must not stop the guest: drop on error. */
	while (write(c->out_fd, &byte, 1) < 0 && errno == EINTR)
		;
}

void vs_console_raw(vs_console *c)
{
	if (c->in_fd < 0 || !isatty(c->in_fd) || tcgetattr(c->in_fd, &c->saved) < 0)
		return;
	struct termios t = c->saved;
	/* Keys reach the guest one by one and are echoed by the guest; ISIG
	 * stays on so Ctrl-C stops the VM. */
	t.c_lflag &= (tcflag_t)~(ICANON | ECHO | ECHONL);
	t.c_iflag &= (tcflag_t)~(ICRNL);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(c->in_fd, TCSANOW, &t) == 0)
		c->tty_saved = true;
}

void vs_console_restore(vs_console *c)
{
	if (c->tty_saved)
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
	c->tty_saved = false;
}
