/* libFuzzer target for the API socket: any byte string is parsed as a
 * stream of HTTP requests (vs_http_parse, as the server does: one after the
 * other while complete), and each complete request is answered by the
 * Firecracker routes on a fresh, never started engine handle. Must give a
 * reply or a refusal, never a crash, a leak or undefined behaviour.
 * InstanceStart is answered without starting (the input could name a real
 * kernel on a KVM host), PUT /logger and /metrics are not answered (they
 * would create the files the input names), and the snapshot routes, which
 * open the files an input names, are only parsed (their state file parser
 * has its own target, fuzz_snapshot.c); MMDS bodies (PUT, JSON merge
 * PATCH) go through the API's own state. Build: make fuzz; run:
 * build-fuzz/fuzz_http tests/fuzz/corpus_http */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/fc.h"
#include "vmm/api/http.h"
#include "vmm/api/obs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vs_vmm_options o = {.in_fd = -1, .out_fd = -1, .xsave = -1};
	vs_err err;
	vs_vmm *m = vs_vmm_new(&o, &err);
	if (!m)
		return 0;
	vs_fc_info info = {"fuzz", "vessel", "0", vs_fc_obs_new("fuzz")};
	const char *p = (const char *)data;
	size_t left = size;
	for (;;) {
		vs_http_req req;
		int status;
		long n = vs_http_parse(p, left, &req, &status, &err);
		if (n <= 0)
			break;
		if (!strcmp(req.path, "/logger") || !strcmp(req.path, "/metrics")) {
			/* not answered, see above */
		} else if (strcmp(req.path, "/actions") && strncmp(req.path, "/snapshot/", 10)) {
			vs_fc_reply r;
			vs_fc_handle(m, &info, &req, &r);
			free(r.body);
		} else {
			struct json_object *body;
			if (vs_fc_parse_object(req.body, req.body_len, &body, &err) == 0)
				json_object_put(body);
		}
		p += n;
		left -= (size_t)n;
	}
	/* The same bytes as a --config-file. */
	vs_vmm *c = vs_vmm_new(&o, &err);
	if (c) {
		vs_fc_config(c, (const char *)data, size, &err);
		vs_vmm_destroy(c);
	}
	vs_fc_obs_free(info.obs, NULL);
	vs_vmm_destroy(m);
	return 0;
}
