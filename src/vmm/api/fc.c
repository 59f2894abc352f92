/* Firecracker's request bodies and routes on top of the engine's calls.
 * Bodies are strict, as Firecracker's (serde deny_unknown_fields): an
 * unknown field, a wrong type or a missing required field is a 400 that
 * names it, and nothing is changed. */
#include "vmm/api/fc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "vmm/api/fc_body.h"

#define CONFIG_MAX (1 << 20)

int vs_fc_parse_object(const char *buf, size_t len, struct json_object **out, vs_err *err)
{
	*out = NULL;
	if (len > (size_t)INT32_MAX)
		return vs_fail(err, VS_EINVAL_CONFIG, "body too large");
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return vs_fail(err, ENOMEM, "parse the body");
	struct json_object *o = json_tokener_parse_ex(tok, buf ? buf : "", (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t used = tok->char_offset;
	json_tokener_free(tok);
	if (je != json_tokener_success || !o) {
		json_object_put(o);
		return vs_fail(err, VS_EINVAL_CONFIG, "the body is not valid JSON: %s",
			       je == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(je));
	}
	for (; used < len; used++)
		if (!strchr(" \t\r\n", buf[used])) {
			json_object_put(o);
			return vs_fail(err, VS_EINVAL_CONFIG, "the body has data after the JSON object");
		}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return vs_fail(err, VS_EINVAL_CONFIG, "the body must be a JSON object");
	}
	*out = o;
	return 0;
}

/* Every key of o is one of `known` (NULL-terminated). */
int vs_fc_only_keys(struct json_object *o, const char *what, const char *const *known, vs_err *err)
{
	json_object_object_foreach(o, key, val) {
		(void)val;
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = !strcmp(*k, key);
		if (!ok)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: unknown field \"%s\"", what, key);
	}
	return 0;
}

/* Member `key` of type t: 1 if present, 0 if absent (fails if required). */
int vs_fc_get(struct json_object *o, const char *what, const char *key, enum json_type t, bool required,
	       struct json_object **v, vs_err *err)
{
	*v = NULL;
	if (!json_object_object_get_ex(o, key, v) || !*v) {
		if (required)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: missing field \"%s\"", what, key);
		return 0;
	}
	if (!json_object_is_type(*v, t))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: \"%s\" must be %s", what, key,
			       t == json_type_string ? "a string" : t == json_type_boolean ? "a boolean"
			       : t == json_type_int ? "an integer" : t == json_type_array ? "an array" : "an object");
	return 1;
}

int vs_fc_get_str(struct json_object *o, const char *what, const char *key, bool required, const char **out,
		   vs_err *err)
{
	struct json_object *v;
	int r = vs_fc_get(o, what, key, json_type_string, required, &v, err);
	*out = r == 1 ? json_object_get_string(v) : NULL;
	if (r == 1 && strlen(*out) != (size_t)json_object_get_string_len(v))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: \"%s\" contains a NUL byte", what, key);
	return r;
}

int vs_fc_get_bool(struct json_object *o, const char *what, const char *key, bool required, bool *out,
		    vs_err *err)
{
	struct json_object *v;
	int r = vs_fc_get(o, what, key, json_type_boolean, required, &v, err);
	if (r == 1)
		*out = json_object_get_boolean(v);
	return r;
}

int vs_fc_get_uint(struct json_object *o, const char *what, const char *key, bool required, int64_t max,
		    int64_t *out, vs_err *err)
{
	struct json_object *v;
	int r = vs_fc_get(o, what, key, json_type_int, required, &v, err);
	if (r == 1) {
		errno = 0;
		int64_t x = json_object_get_int64(v);
		if (errno || x < 0 || x > max)
			return vs_fail(err, VS_EINVAL_CONFIG, "%s: \"%s\" must be 0..%lld", what, key, (long long)max);
		*out = x;
	}
	return r;
}

int vs_fc_boot_source(vs_vmm *m, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"kernel_image_path", "initrd_path", "boot_args", "vessel_ring3", NULL};
	const char *w = "boot-source", *kernel, *initrd, *args;
	bool ring3 = false;
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_str(o, w, "kernel_image_path", true, &kernel, err) < 0 ||
	    vs_fc_get_str(o, w, "initrd_path", false, &initrd, err) < 0 || vs_fc_get_str(o, w, "boot_args", false, &args, err) < 0 ||
	    vs_fc_get_bool(o, w, "vessel_ring3", false, &ring3, err) < 0)
		return -1;
	if (ring3 && initrd)
		return vs_fail(err, VS_EINVAL_CONFIG, "boot-source: a ring-3 guest takes no initrd_path");
	return vs_vmm_set_boot(m, kernel, initrd, args, ring3, err);
}

int vs_fc_machine_config(vs_vmm *m, struct json_object *o, bool patch, vs_err *err)
{
	static const char *const known[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					    "cpu_template", "huge_pages", NULL};
	const char *w = "machine-config", *tmpl = NULL, *huge = NULL;
	vs_vmm_spec cur;
	vs_vmm_describe(m, &cur);
	int64_t cpus = cur.cpus, mib = (int64_t)(cur.mem_size >> 20);
	bool smt = false, dirty = cur.track_dirty;
	if (vs_fc_only_keys(o, w, known, err) < 0 ||
	    vs_fc_get_uint(o, w, "vcpu_count", !patch, VS_VMM_MAX_CPUS, &cpus, err) < 0 ||
	    vs_fc_get_uint(o, w, "mem_size_mib", !patch, (int64_t)1 << 32, &mib, err) < 0 ||
	    vs_fc_get_bool(o, w, "smt", false, &smt, err) < 0 || vs_fc_get_bool(o, w, "track_dirty_pages", false, &dirty, err) < 0 ||
	    vs_fc_get_str(o, w, "cpu_template", false, &tmpl, err) < 0 || vs_fc_get_str(o, w, "huge_pages", false, &huge, err) < 0)
		return -1;
	if (cpus < 1)
		return vs_fail(err, VS_EINVAL_CONFIG, "machine-config: vcpu_count must be 1..%d", VS_VMM_MAX_CPUS);
	if (smt)
		return vs_fail(err, VS_EINVAL_CONFIG, "machine-config: smt is not supported (must be false)");
	if (tmpl && strcmp(tmpl, "None"))
		return vs_fail(err, VS_EINVAL_CONFIG, "machine-config: cpu_template %s is not supported (only None)", tmpl);
	if (huge && strcmp(huge, "None"))
		return vs_fail(err, VS_EINVAL_CONFIG, "machine-config: huge_pages %s is not supported (only None)", huge);
	if (vs_vmm_set_machine(m, (unsigned)cpus, (uint64_t)mib << 20, err) < 0)
		return -1;
	return vs_vmm_set_track_dirty(m, dirty, err);
}

/* Firecracker's ids: 1..64 characters of [A-Za-z0-9_]. */
static int check_id(const char *what, const char *id, vs_err *err)
{
	size_t n = strlen(id);
	if (n == 0 || n >= VS_VMM_ID_MAX || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: invalid id \"%.64s\" (1..%d of A-Z a-z 0-9 _)", what, id,
			       VS_VMM_ID_MAX - 1);
	return 0;
}

int vs_fc_id_matches(const char *what, const char *path_id, const char *body_id, vs_err *err)
{
	if (check_id(what, body_id, err) < 0)
		return -1;
	if (path_id && strcmp(path_id, body_id))
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: the id from the path [%s] does not match the id from the body [%s]",
			       what, path_id, body_id);
	return 0;
}

static int copy_field(char *dst, size_t cap, const char *what, const char *key, const char *src, vs_err *err)
{
	if (strlen(src) >= cap)
		return vs_fail(err, VS_EINVAL_CONFIG, "%s: \"%s\" longer than %zu bytes", what, key, cap - 1);
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int vs_fc_drive(vs_vmm *m, const char *path_id, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"drive_id", "path_on_host", "is_root_device", "is_read_only",
					    "partuuid", "cache_type", "io_engine", "rate_limiter", NULL};
	const char *w = "drive", *id, *path, *partuuid, *cache = NULL, *engine = NULL;
	vs_vmm_device d = {.kind = VS_VMM_DEV_BLOCK};
	vs_rl_update rl = {0};
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_str(o, w, "drive_id", true, &id, err) < 0 ||
	    vs_fc_get_str(o, w, "path_on_host", true, &path, err) < 0 ||
	    vs_fc_get_bool(o, w, "is_root_device", true, &d.root, err) < 0 ||
	    vs_fc_get_bool(o, w, "is_read_only", false, &d.readonly, err) < 0 ||
	    vs_fc_get_str(o, w, "partuuid", false, &partuuid, err) < 0 || vs_fc_get_str(o, w, "cache_type", false, &cache, err) < 0 ||
	    vs_fc_get_str(o, w, "io_engine", false, &engine, err) < 0 ||
	    vs_fc_rate_limiter(o, w, "rate_limiter", &rl, err) < 0)
		return -1;
	if (vs_fc_id_matches(w, path_id, id, err) < 0)
		return -1;
	vs_rl_cfg_apply(&d.rl, &rl);
	if (partuuid)
		return vs_fail(err, VS_EINVAL_CONFIG, "drive %s: partuuid is not supported (the root drive is /dev/vda)", id);
	if (cache && strcmp(cache, "Unsafe"))
		return vs_fail(err, VS_EINVAL_CONFIG, "drive %s: cache_type %s is not supported (only Unsafe)", id, cache);
	if (engine && strcmp(engine, "Sync"))
		return vs_fail(err, VS_EINVAL_CONFIG, "drive %s: io_engine %s is not supported (only Sync)", id, engine);
	if (copy_field(d.id, sizeof(d.id), w, "drive_id", id, err) < 0 ||
	    copy_field(d.path, sizeof(d.path), w, "path_on_host", path, err) < 0)
		return -1;
	return vs_vmm_put_device(m, &d, err);
}

int vs_fc_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *h = s + 3 * i;
		if (i < 5 && h[2] != ':')
			return -1;
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char c = h[j];
			unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
				   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
				   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
			if (d > 15)
				return -1;
			v = v * 16 + d;
		}
		mac[i] = (uint8_t)v;
	}
	return 0;
}

int vs_fc_net(vs_vmm *m, const char *path_id, struct json_object *o, vs_err *err)
{
	static const char *const known[] = {"iface_id", "host_dev_name", "guest_mac", "rx_rate_limiter",
					    "tx_rate_limiter", NULL};
	const char *w = "network-interface", *id, *tap, *mac = NULL;
	vs_vmm_device d = {.kind = VS_VMM_DEV_NET};
	vs_rl_update rx = {0}, tx = {0};
	if (vs_fc_only_keys(o, w, known, err) < 0 || vs_fc_get_str(o, w, "iface_id", true, &id, err) < 0 ||
	    vs_fc_get_str(o, w, "host_dev_name", true, &tap, err) < 0 || vs_fc_get_str(o, w, "guest_mac", false, &mac, err) < 0 ||
	    vs_fc_rate_limiter(o, w, "rx_rate_limiter", &rx, err) < 0 ||
	    vs_fc_rate_limiter(o, w, "tx_rate_limiter", &tx, err) < 0)
		return -1;
	if (vs_fc_id_matches(w, path_id, id, err) < 0)
		return -1;
	vs_rl_cfg_apply(&d.rl, &rx);
	vs_rl_cfg_apply(&d.tx_rl, &tx);
	if (mac && vs_fc_parse_mac(mac, d.mac) < 0)
		return vs_fail(err, VS_EINVAL_CONFIG, "network-interface %s: guest_mac \"%.32s\" is not a MAC address", id, mac);
	if (copy_field(d.id, sizeof(d.id), w, "iface_id", id, err) < 0 ||
	    copy_field(d.path, sizeof(d.path), w, "host_dev_name", tap, err) < 0)
		return -1;
	return vs_vmm_put_device(m, &d, err);
}

int vs_fc_config(vs_vmm *m, const char *json, size_t len, vs_err *err)
{
	static const char *const known[] = {"boot-source", "machine-config", "drives", "network-interfaces", "vsock",
					    "balloon", NULL};
	struct json_object *o, *v;
	if (vs_fc_parse_object(json, len, &o, err) < 0)
		return -1;
	int r = -1;
	json_object_object_foreach(o, key, val) {
		(void)val;
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = !strcmp(*k, key);
		if (!ok) {
			vs_fail(err, VS_EINVAL_CONFIG, "config file: section \"%s\" is not supported", key);
			goto out;
		}
	}
	const char *w = "config file";
	if (vs_fc_get(o, w, "machine-config", json_type_object, false, &v, err) < 0 ||
	    (v && vs_fc_machine_config(m, v, false, err) < 0))
		goto out;
	if (vs_fc_get(o, w, "boot-source", json_type_object, true, &v, err) < 0 || vs_fc_boot_source(m, v, err) < 0)
		goto out;
	if (vs_fc_get(o, w, "vsock", json_type_object, false, &v, err) < 0 || (v && vs_fc_vsock(m, v, err) < 0))
		goto out;
	if (vs_fc_get(o, w, "balloon", json_type_object, false, &v, err) < 0 || (v && vs_fc_balloon(m, v, err) < 0))
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		const char *sec = pass ? "network-interfaces" : "drives";
		if (vs_fc_get(o, w, sec, json_type_array, false, &v, err) < 0)
			goto out;
		for (size_t i = 0; v && i < json_object_array_length(v); i++) {
			struct json_object *e = json_object_array_get_idx(v, i);
			if (!json_object_is_type(e, json_type_object)) {
				vs_fail(err, VS_EINVAL_CONFIG, "config file: %s[%zu] must be an object", sec, i);
				goto out;
			}
			if ((pass ? vs_fc_net(m, NULL, e, err) : vs_fc_drive(m, NULL, e, err)) < 0)
				goto out;
		}
	}
	r = 0;
out:
	json_object_put(o);
	return r;
}

int vs_fc_config_file(vs_vmm *m, const char *path, vs_err *err)
{
	char *buf;
	size_t len;
	if (vs_read_regular(path, CONFIG_MAX, &buf, &len, err) < 0)
		return -1;
	int r = vs_fc_config(m, buf, len, err);
	free(buf);
	if (r < 0)
		vs_wrap(err, "%s", path);
	return r;
}
