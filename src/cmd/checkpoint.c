/* checkpoint/restore: runc delegates them to CRIU; vessel does not ship a
 * CRIU integration yet, so both say so clearly instead of failing oddly. */
#include "base/error.h"
#include "cmd/commands.h"

static int unsupported(const char *what)
{
	vs_err err;
	vs_fail(&err, VS_ENOTSUP_HOST, "%s: CRIU checkpoint/restore is not integrated in this build of vessel", what);
	return vs_cmd_fail(&err);
}

VS_CMD(checkpoint)
{
	(void)g, (void)argc, (void)argv;
	return unsupported("checkpoint");
}

VS_CMD(restore)
{
	(void)g, (void)argc, (void)argv;
	return unsupported("restore");
}
