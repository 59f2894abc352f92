/* Weak fallbacks so the CLI links while a command group is being built;
 * each command's real (strong) definition lives in its own file. */
#include <stdio.h>

#include "cmd/commands.h"

#define STUB(name)                                                                    \
	__attribute__((weak)) int cmd_##name(vs_global *g, int argc, char **argv)     \
	{                                                                             \
		(void)g;                                                              \
		(void)argc;                                                           \
		(void)argv;                                                           \
		fprintf(stderr, "vessel: command '" #name "' is not available in this build\n"); \
		return 1;                                                             \
	}

STUB(create)
STUB(start)
STUB(run)
STUB(state)
STUB(kill)
STUB(delete)
STUB(list)
STUB(exec)
STUB(ps)
STUB(pause)
STUB(resume)
STUB(update)
STUB(events)
STUB(features)
STUB(spec)
STUB(vm)
STUB(check)
