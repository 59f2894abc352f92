/* Path routing and the strict body parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/api.h"
#include "platform/envelope.h"

#define MAX_SEG 8

int vsd_api_keys(struct json_object *obj, const char *where, const char *const *allowed, vs_err *err)
{
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		bool ok = false;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(key, allowed[i]);
		if (!ok)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: unknown key \"%.64s\"", where, key);
	}
	return 0;
}

int vsd_api_body(const char *body, size_t len, const char *const *allowed, struct json_object **out, vs_err *err)
{
	*out = NULL;
	if (len == 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "request body: expected a JSON object, got nothing");
	struct json_tokener *tok = json_tokener_new_ex(32);
	if (!tok)
		return vs_fail(err, ENOMEM, "request body");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	struct json_object *o = json_tokener_parse_ex(tok, body, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t off = tok->char_offset;
	json_tokener_free(tok);
	if (je != json_tokener_success || !o) {
		json_object_put(o);
		return vs_fail(err, VS_EINVAL_CONFIG, "request body: malformed JSON: %s at offset %zu",
			       je == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(je), off);
	}
	for (size_t i = off; i < len; i++) {
		if (!strchr(" \t\r\n", body[i])) {
			json_object_put(o);
			return vs_fail(err, VS_EINVAL_CONFIG, "request body: data after the JSON object at offset %zu", i);
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return vs_fail(err, VS_EINVAL_CONFIG, "request body: expected a JSON object");
	}
	if (allowed && vsd_api_keys(o, "request body", allowed, err) < 0) {
		json_object_put(o);
		return -1;
	}
	*out = o;
	return 0;
}

struct json_object *vsd_api_error(const vs_err *err)
{
	int http = err->code == VS_EINVAL_CONFIG ? 400 : err->code == ENOENT ? 404
		 : err->code == EEXIST || err->code == EBUSY ? 409 : 500;
	char buf[700];
	if (err->code == VS_EINVAL_CONFIG || err->code == ENOENT || err->code == EEXIST || err->code == EBUSY)
		snprintf(buf, sizeof(buf), "%s", err->msg);
	else
		vs_err_str(err, buf, sizeof(buf));
	return vsd_env_error(http, buf);
}

struct json_object *vsd_api_route(vsd *d, vsd_req *r)
{
	if (r->body_too_big)
		return vsd_env_error(400, "request body larger than 1048576 bytes");
	const char *p = r->path;
	if (strncmp(p, "/1.0", 4) || (p[4] && p[4] != '/'))
		return vsd_env_error(404, "not found (the API lives under /1.0)");
	char copy[1024];
	if (strlen(p) >= sizeof(copy))
		return vsd_env_error(400, "request path too long");
	snprintf(copy, sizeof(copy), "%s", p + 4);
	char *seg[MAX_SEG + 1];
	int n = 0;
	char *save = NULL;
	for (char *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (n == MAX_SEG)
			return vsd_env_error(404, "not found");
		if (!strcmp(s, ".") || !strcmp(s, ".."))
			return vsd_env_error(400, "request path: \".\" and \"..\" segments are not allowed");
		seg[n++] = s;
	}
	if (n == 0)
		return vsd_api_server(d, r);
	if (!strcmp(seg[0], "instances"))
		return vsd_api_instances(d, r, seg + 1, n - 1);
	if (!strcmp(seg[0], "images"))
		return vsd_api_images(d, r, seg + 1, n - 1);
	if (!strcmp(seg[0], "networks"))
		return vsd_api_networks(d, r, seg + 1, n - 1);
	if (!strcmp(seg[0], "operations"))
		return vsd_api_operations(d, r, seg + 1, n - 1);
	if (!strcmp(seg[0], "events") && n == 1) {
		if (strcmp(r->method, "GET"))
			return vsd_env_error(405, "method not allowed");
		r->stream = true;
		return vsd_env_sync(NULL);
	}
	if (!strcmp(seg[0], "metrics") && n == 1)
		return vsd_api_metrics(d, r);
	if (!strcmp(seg[0], "resources") && n == 1)
		return vsd_api_resources(d, r);
	if (!strcmp(seg[0], "audit"))
		return vsd_api_audit(d, r, seg + 1, n - 1);
	return vsd_env_error(404, "not found");
}
