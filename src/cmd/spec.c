/* `vessel spec [--bundle DIR] [--rootless]`: write the starter config.json
 * (oci/spec_default.c), so tools and scripts written for runc keep working. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "cmd/commands.h"
#include "cmd/opts.h"
#include "oci/spec_default.h"

VS_CMD(spec)
{
	(void)g;
	const char *bundle = NULL;
	bool rootless = false;
	vs_opt opts[] = {
		{"bundle", 'b', OPT_STR, &bundle},
		{"rootless", 0, OPT_BOOL, &rootless},
		{0},
	};
	int i = vs_opts_parse("spec", argc, argv, opts);
	if (i < 0)
		return 2;
	if (i < argc) {
		fprintf(stderr, "vessel spec: unexpected argument '%s'\n", argv[i]);
		return 2;
	}
	vs_err err = {0};
	if (bundle && chdir(bundle) < 0) {
		vs_fail(&err, errno, "chdir %s", bundle);
		return vs_cmd_fail(&err);
	}
	if (access("config.json", F_OK) == 0) {
		vs_fail(&err, VS_EINVAL_CONFIG, "File config.json exists. Remove it first");
		return vs_cmd_fail(&err);
	}
	struct json_object *spec = vs_spec_default(rootless);
	if (!spec) {
		vs_fail(&err, ENOMEM, "build default config.json");
		return vs_cmd_fail(&err);
	}
	size_t len;
	const char *text = json_object_to_json_string_length(
		spec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB | JSON_C_TO_STRING_SPACED |
			      JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	int rc = vs_write_file("config.json", text, len, 0666, &err);
	json_object_put(spec);
	return rc < 0 ? vs_cmd_fail(&err) : 0;
}
