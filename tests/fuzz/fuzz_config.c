/* libFuzzer target for the config parsers: any byte string given to
 * vs_config_parse, vs_process_parse or vs_resources_parse must produce a
 * config or an error, never a crash, a leak or undefined behaviour.
 * Build: make fuzz; run: build-fuzz/fuzz_config tests/fuzz/corpus */
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "oci/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Unknown capabilities are logged as warnings; keep the output readable. */
	vs_log_open("/dev/null", false, false);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vs_err err;
	vs_config *cfg = NULL;
	if (vs_config_parse((const char *)data, size, "/bundle", &cfg, &err) == 0)
		vs_config_free(cfg);

	/* The same bytes as an exec process.json and an update resources file. */
	vs_process proc;
	if (vs_process_parse((const char *)data, size, &proc, &err) == 0)
		vs_process_clear(&proc);
	vs_resources res;
	if (vs_resources_parse((const char *)data, size, &res, &err) == 0)
		vs_resources_clear(&res);
	return 0;
}
