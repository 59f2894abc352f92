/* Firecracker's routes: method + path -> a body parser or an engine call,
 * and the JSON the GETs answer. Unknown routes get 400 as in Firecracker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/fc.h"
#include "vmm/api/fc_body.h"
#include "vmm/api/obs.h"

static void reply(vs_fc_reply *out, int status, struct json_object *body)
{
	out->status = status;
	out->body = body ? strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) : NULL;
	json_object_put(body);
}

static void fault(vs_fc_reply *out, const char *msg)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "fault_message", json_object_new_string(msg));
	reply(out, 400, o);
}

static void fault_err(vs_fc_reply *out, const vs_err *err)
{
	char buf[600];
	fault(out, err->code ? vs_err_str(err, buf, sizeof(buf)) : "request failed");
}

static const char *state_name(vs_vmm_state s)
{
	switch (s) {
	case VS_VMM_NOT_STARTED: return "Not started";
	case VS_VMM_RUNNING: return "Running";
	case VS_VMM_PAUSED: return "Paused";
	default: return "Stopped";
	}
}

static struct json_object *machine_json(const vs_vmm_spec *s)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "vcpu_count", json_object_new_int((int)s->cpus));
	json_object_object_add(o, "mem_size_mib", json_object_new_int64((int64_t)(s->mem_size >> 20)));
	json_object_object_add(o, "smt", json_object_new_boolean(0));
	json_object_object_add(o, "track_dirty_pages", json_object_new_boolean(s->track_dirty));
	return o;
}

static void add_rl(struct json_object *e, const char *key, const vs_rl_cfg *c)
{
	struct json_object *j = vs_fc_rate_limiter_json(c);
	if (j)
		json_object_object_add(e, key, j);
}

static struct json_object *config_json(const vs_vmm_spec *s, vs_fc_obs *obs)
{
	struct json_object *o = json_object_new_object(), *boot = json_object_new_object();
	json_object_object_add(boot, "kernel_image_path", json_object_new_string(s->kernel));
	if (s->initrd[0])
		json_object_object_add(boot, "initrd_path", json_object_new_string(s->initrd));
	json_object_object_add(boot, "boot_args", json_object_new_string(s->cmdline));
	if (s->ring3)
		json_object_object_add(boot, "vessel_ring3", json_object_new_boolean(1));
	json_object_object_add(o, "boot-source", boot);
	struct json_object *drives = json_object_new_array(), *nets = json_object_new_array();
	for (unsigned i = 0; i < s->n_devs; i++) {
		const vs_vmm_device *d = &s->devs[i];
		struct json_object *e = json_object_new_object();
		if (d->kind == VS_VMM_DEV_BLOCK) {
			json_object_object_add(e, "drive_id", json_object_new_string(d->id));
			json_object_object_add(e, "path_on_host", json_object_new_string(d->path));
			json_object_object_add(e, "is_root_device", json_object_new_boolean(d->root));
			json_object_object_add(e, "is_read_only", json_object_new_boolean(d->readonly));
			add_rl(e, "rate_limiter", &d->rl);
			json_object_array_add(drives, e);
		} else {
			char mac[18];
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", d->mac[0], d->mac[1], d->mac[2],
				 d->mac[3], d->mac[4], d->mac[5]);
			json_object_object_add(e, "iface_id", json_object_new_string(d->id));
			json_object_object_add(e, "host_dev_name", json_object_new_string(d->path));
			json_object_object_add(e, "guest_mac", json_object_new_string(mac));
			add_rl(e, "rx_rate_limiter", &d->rl);
			add_rl(e, "tx_rate_limiter", &d->tx_rl);
			json_object_array_add(nets, e);
		}
	}
	json_object_object_add(o, "drives", drives);
	json_object_object_add(o, "machine-config", machine_json(s));
	json_object_object_add(o, "network-interfaces", nets);
	if (s->vsock.on)
		json_object_object_add(o, "vsock", vs_fc_vsock_json(&s->vsock));
	if (s->balloon.on)
		json_object_object_add(o, "balloon", vs_fc_balloon_json(&s->balloon));
	if (obs && obs->mmds_config)
		json_object_object_add(o, "mmds-config", json_object_get(obs->mmds_config));
	return o;
}

/* "/drives/ID" with prefix "/drives/": the ID, or NULL. */
static const char *sub_id(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) || !path[n] || strchr(path + n, '/'))
		return NULL;
	return path + n;
}

/* GET /balloon and /balloon/statistics: the answer, or NULL with err. */
static struct json_object *balloon_get(vs_vmm *m, bool stats, vs_err *err)
{
	vs_vmm_balloon_stats b;
	if (vs_vmm_balloon_get(m, &b, err) < 0)
		return NULL;
	if (!stats)
		return vs_fc_balloon_json(&b.cfg);
	if (!b.cfg.stats_interval_s)
		return vs_fail(err, VS_EINVAL_CONFIG, "balloon statistics are not enabled (stats_polling_interval_s is 0)"), NULL;
	if (vs_vmm_state_of(m) == VS_VMM_NOT_STARTED)
		return vs_fail(err, VS_EINVAL_CONFIG, "balloon statistics: the VM has not started"), NULL;
	return vs_fc_balloon_stats_json(&b);
}

static int action(vs_vmm *m, vs_fc_obs *obs, struct json_object *o, vs_err *err)
{
	struct json_object *t;
	if (!json_object_object_get_ex(o, "action_type", &t) || !json_object_is_type(t, json_type_string))
		return vs_fail(err, VS_EINVAL_CONFIG, "actions: missing string field \"action_type\"");
	if (json_object_object_length(o) != 1)
		return vs_fail(err, VS_EINVAL_CONFIG, "actions: only \"action_type\" is accepted");
	const char *a = json_object_get_string(t);
	if (!strcmp(a, "InstanceStart"))
		return vs_vmm_start(m, err);
	if (!strcmp(a, "SendCtrlAltDel"))
		return vs_vmm_ctrl_alt_del(m, err);
	if (!strcmp(a, "FlushMetrics"))
		return obs ? vs_fc_flush_metrics(obs, m, err)
			   : vs_fail(err, VS_EINVAL_CONFIG, "actions: FlushMetrics: no metrics here");
	return vs_fail(err, VS_EINVAL_CONFIG, "actions: unknown action_type \"%.64s\"", a);
}

static int vm_state(vs_vmm *m, struct json_object *o, vs_err *err)
{
	struct json_object *t;
	if (!json_object_object_get_ex(o, "state", &t) || !json_object_is_type(t, json_type_string) ||
	    json_object_object_length(o) != 1)
		return vs_fail(err, VS_EINVAL_CONFIG, "vm: the body must be {\"state\": \"Paused\"|\"Resumed\"}");
	const char *s = json_object_get_string(t);
	if (!strcmp(s, "Paused"))
		return vs_vmm_pause(m, err);
	if (!strcmp(s, "Resumed"))
		return vs_vmm_resume(m, err);
	return vs_fail(err, VS_EINVAL_CONFIG, "vm: unknown state \"%.64s\" (Paused or Resumed)", s);
}

static void route(vs_vmm *m, const vs_fc_info *info, const vs_http_req *req, vs_fc_reply *out)
{
	vs_fc_obs *obs = info->obs;
	const char *p = req->path;
	vs_err err = {0};
	memset(out, 0, sizeof(*out));
	if (req->method == VS_HTTP_GET) {
		vs_vmm_spec *s = malloc(sizeof(*s));
		if (!s) {
			fault(out, "out of memory");
			return;
		}
		vs_vmm_describe(m, s);
		struct json_object *o = NULL;
		if (!strcmp(p, "/")) {
			o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_string(info->id));
			json_object_object_add(o, "state", json_object_new_string(state_name(vs_vmm_state_of(m))));
			json_object_object_add(o, "vmm_version", json_object_new_string(info->version));
			json_object_object_add(o, "app_name", json_object_new_string(info->app_name));
		} else if (!strcmp(p, "/machine-config")) {
			o = machine_json(s);
		} else if (!strcmp(p, "/vm/config")) {
			o = config_json(s, obs);
		} else if (!strcmp(p, "/mmds") && obs) {
			o = vs_fc_mmds_get(obs);
		} else if (!strcmp(p, "/balloon") || !strcmp(p, "/balloon/statistics")) {
			o = balloon_get(m, !strcmp(p, "/balloon/statistics"), &err);
			if (!o) {
				free(s);
				fault_err(out, &err);
				return;
			}
		} else if (!strcmp(p, "/migrate")) {
			vs_vmm_mig_stats st;
			vs_vmm_migrate_status(m, &st);
			o = vs_fc_migrate_json(&st);
		} else if (!strcmp(p, "/version")) {
			o = json_object_new_object();
			json_object_object_add(o, "firecracker_version", json_object_new_string(info->version));
		}
		free(s);
		if (o)
			reply(out, 200, o);
		else
			fault(out, "Invalid request method and/or path: GET of an unknown path");
		return;
	}
	struct json_object *body = NULL;
	const char *id;
	int r = 1; /* 1: no such route */
	bool put = req->method == VS_HTTP_PUT, patch = req->method == VS_HTTP_PATCH;
	bool with_obs = obs && (!strcmp(p, "/mmds") || (put && (!strcmp(p, "/logger") || !strcmp(p, "/metrics") ||
								    !strcmp(p, "/mmds/config"))));
	bool known = with_obs ||
		     ((put || patch) && (!strcmp(p, "/machine-config") || !strcmp(p, "/balloon") ||
					 sub_id(p, "/drives/") || sub_id(p, "/network-interfaces/"))) ||
		     (put && (!strcmp(p, "/boot-source") || !strcmp(p, "/actions") || !strcmp(p, "/vsock") ||
			      !strcmp(p, "/snapshot/create") || !strcmp(p, "/snapshot/load") || !strcmp(p, "/migrate"))) ||
		     (patch && (!strcmp(p, "/vm") || !strcmp(p, "/balloon/statistics")));
	if (!known) {
		fault(out, "Invalid request method and/or path");
		return;
	}
	if (vs_fc_parse_object(req->body, req->body_len, &body, &err) < 0) {
		fault_err(out, &err);
		return;
	}
	if (put && !strcmp(p, "/boot-source"))
		r = vs_fc_boot_source(m, body, &err);
	else if (!strcmp(p, "/machine-config"))
		r = vs_fc_machine_config(m, body, patch, &err);
	else if (put && !strcmp(p, "/actions"))
		r = action(m, obs, body, &err);
	else if ((id = sub_id(p, "/drives/")))
		r = put ? vs_fc_drive(m, id, body, &err) : vs_fc_drive_patch(m, id, body, &err);
	else if ((id = sub_id(p, "/network-interfaces/")))
		r = put ? vs_fc_net(m, id, body, &err) : vs_fc_net_patch(m, id, body, &err);
	else if (!strcmp(p, "/logger"))
		r = vs_fc_logger(obs, body, &err);
	else if (!strcmp(p, "/metrics"))
		r = vs_fc_metrics(obs, body, &err);
	else if (!strcmp(p, "/mmds"))
		r = vs_fc_mmds_put(obs, body, patch, &err);
	else if (!strcmp(p, "/mmds/config"))
		r = vs_fc_mmds_config(obs, m, body, &err);
	else if (patch && !strcmp(p, "/vm"))
		r = vm_state(m, body, &err);
	else if (put && !strcmp(p, "/vsock"))
		r = vs_fc_vsock(m, body, &err);
	else if (put && !strcmp(p, "/balloon"))
		r = vs_fc_balloon(m, body, &err);
	else if (patch && !strcmp(p, "/balloon"))
		r = vs_fc_balloon_patch(m, body, &err);
	else if (patch && !strcmp(p, "/balloon/statistics"))
		r = vs_fc_balloon_stats_patch(m, body, &err);
	else if (put && !strcmp(p, "/snapshot/create"))
		r = vs_fc_snapshot_create(m, body, &err);
	else if (put && !strcmp(p, "/snapshot/load"))
		r = vs_fc_snapshot_load(m, body, &err);
	else if (put && !strcmp(p, "/migrate")) {
		vs_vmm_mig_stats st;
		r = vs_fc_migrate(m, body, &st, &err);
		if (r == 0) {
			/* Done: the statistics, then this VMM exits. */
			json_object_put(body);
			reply(out, 200, vs_fc_migrate_json(&st));
			return;
		}
	}
	json_object_put(body);
	if (r == 0)
		reply(out, 204, NULL);
	else
		fault_err(out, &err);
}

/* Every request is counted for the metrics and logged as Firecracker does
 * (method and path at Info, the body at Debug, a refusal at Error). */
void vs_fc_handle(vs_vmm *m, const vs_fc_info *info, const vs_http_req *req, vs_fc_reply *out)
{
	vs_fc_obs *obs = info->obs;
	const char *meth = req->method == VS_HTTP_GET ? "Get" : req->method == VS_HTTP_PUT ? "Put" : "Patch";
	VS_FC_LOG(obs, VS_FC_LOG_INFO, "The API server received a %s request on \"%s\".", meth, req->path);
	if (req->body_len)
		VS_FC_LOG(obs, VS_FC_LOG_DEBUG, "Request body: %.*s", (int)(req->body_len > 1024 ? 1024 : req->body_len),
			  req->body);
	route(m, info, req, out);
	vs_fc_count_request(obs, req->method, req->path, out->status >= 400);
	if (out->status >= 400)
		VS_FC_LOG(obs, VS_FC_LOG_ERROR, "Received Error. Status code: %d. Message: %s", out->status,
			  out->body ? out->body : "");
}
