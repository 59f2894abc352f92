/* Foreground container processes (`run`, `exec` without -d): forward signals
 * to the process, proxy its terminal, reap it and return its exit status. */
#ifndef VS_CMD_FOREGROUND_H
#define VS_CMD_FOREGROUND_H

#include <sys/types.h>

/* Become a child subreaper so the container process (whose parent, the
 * runtime's stage-1 child, exits early) is reparented to us. */
void vs_fg_prepare(void);
/* Wait for pid, forwarding signals; pty_master >= 0 proxies the terminal.
 * Returns the exit status as a shell would (128+N for signal N). */
int vs_fg_wait(pid_t pid, int pty_master);
/* Parse "KILL", "SIGKILL", "9" -> 9, and "0" (existence check) -> 0; -1 if unknown. */
int vs_parse_signal(const char *s);

#endif
