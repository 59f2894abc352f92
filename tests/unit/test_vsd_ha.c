/* vesseld's HA logic: restart policies (parse, Docker's decisions, the
 * backoff), health check config, durations and the health state machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "platform/autoscale.h"
#include "platform/ha_config.h"
#include "platform/health.h"
#include "platform/restart.h"

static void test_policy_parse(void **state)
{
	(void)state;
	vsd_restart_policy p;
	vs_err err = {0};
	assert_int_equal(vsd_restart_parse("no", &p, &err), 0);
	assert_int_equal(p.kind, VSD_RESTART_NO);
	assert_int_equal(vsd_restart_parse("always", &p, &err), 0);
	assert_int_equal(p.kind, VSD_RESTART_ALWAYS);
	assert_int_equal(vsd_restart_parse("unless-stopped", &p, &err), 0);
	assert_int_equal(p.kind, VSD_RESTART_UNLESS_STOPPED);
	assert_int_equal(vsd_restart_parse("on-failure", &p, &err), 0);
	assert_true(p.kind == VSD_RESTART_ON_FAILURE && p.max == 0);
	assert_int_equal(vsd_restart_parse("on-failure:5", &p, &err), 0);
	assert_true(p.kind == VSD_RESTART_ON_FAILURE && p.max == 5);
	const char *bad[] = {"", "yes", "On-failure", "on-failure:", "on-failure:-1", "on-failure:x", "on-failure:2x",
			     "on-failure:99999999999999999999", "on-failure:1000001", "on-failurex", "always ", NULL};
	for (int i = 0; bad[i]; i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(vsd_restart_parse(bad[i], &p, &err), -1);
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
		assert_non_null(strstr(err.msg, "restart policy"));
	}
	assert_int_equal(vsd_restart_parse(NULL, &p, NULL), -1);
	assert_string_equal(vsd_restart_name(VSD_RESTART_UNLESS_STOPPED), "unless-stopped");
}

static void test_policy_decide(void **state)
{
	(void)state;
	vsd_restart_policy no = {VSD_RESTART_NO, 0}, always = {VSD_RESTART_ALWAYS, 0},
			   unless = {VSD_RESTART_UNLESS_STOPPED, 0}, onf2 = {VSD_RESTART_ON_FAILURE, 2},
			   onf = {VSD_RESTART_ON_FAILURE, 0};
	/* no: never. */
	assert_false(vsd_restart_should(&no, VSD_WHY_EXITED, 1, false, 0));
	assert_false(vsd_restart_should(&no, VSD_WHY_DAEMON_START, -1, false, 0));
	/* always: on any exit, not after the user's stop, but at daemon start even then. */
	assert_true(vsd_restart_should(&always, VSD_WHY_EXITED, 0, false, 100));
	assert_false(vsd_restart_should(&always, VSD_WHY_EXITED, 137, true, 0));
	assert_true(vsd_restart_should(&always, VSD_WHY_DAEMON_START, -1, true, 0));
	/* unless-stopped: the user's stop holds across daemon starts. */
	assert_true(vsd_restart_should(&unless, VSD_WHY_EXITED, 0, false, 0));
	assert_false(vsd_restart_should(&unless, VSD_WHY_DAEMON_START, -1, true, 0));
	assert_true(vsd_restart_should(&unless, VSD_WHY_DAEMON_START, -1, false, 0));
	/* on-failure:2: failures (unknown counts as one) until two restarts. */
	assert_false(vsd_restart_should(&onf2, VSD_WHY_EXITED, 0, false, 0));
	assert_true(vsd_restart_should(&onf2, VSD_WHY_EXITED, 3, false, 0));
	assert_true(vsd_restart_should(&onf2, VSD_WHY_EXITED, -1, false, 1));
	assert_false(vsd_restart_should(&onf2, VSD_WHY_EXITED, 3, false, 2));
	assert_false(vsd_restart_should(&onf2, VSD_WHY_EXITED, 3, true, 0));
	assert_true(vsd_restart_should(&onf, VSD_WHY_EXITED, 1, false, 100000));
}

static void test_backoff(void **state)
{
	(void)state;
	long want[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000};
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(vsd_restart_backoff_ms(i), want[i]);
	assert_int_equal(vsd_restart_backoff_ms(1000000), VSD_BACKOFF_MAX_MS);
}

static void test_durations(void **state)
{
	(void)state;
	long ms;
	assert_int_equal(vsd_parse_duration_ms("500ms", &ms, NULL), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(vsd_parse_duration_ms("2s", &ms, NULL), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(vsd_parse_duration_ms("3", &ms, NULL), 0);
	assert_int_equal(ms, 3000);
	assert_int_equal(vsd_parse_duration_ms("1.5m", &ms, NULL), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(vsd_parse_duration_ms("24h", &ms, NULL), 0);
	const char *bad[] = {"", "s", "-1s", "0", "0.1ms", "25h", "1d", "1 s", "nan", "inf", "1e400", NULL};
	for (int i = 0; bad[i]; i++) {
		vs_err err = {0};
		assert_int_equal(vsd_parse_duration_ms(bad[i], &ms, &err), -1);
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
	}
}

static void test_health_checks(void **state)
{
	(void)state;
	vsd_health h;
	vsd_health_defaults(&h);
	assert_int_equal(vsd_health_parse_check("exec:test -f /tmp/ok", &h, NULL), 0);
	char buf[sizeof(h.line)], *argv[VSD_HEALTH_ARGS + 1];
	assert_int_equal(vsd_health_argv(&h, buf, sizeof(buf), argv), 3);
	assert_string_equal(argv[2], "/tmp/ok");
	assert_null(argv[3]);
	vsd_health_defaults(&h);
	assert_int_equal(vsd_health_parse_check("tcp:8080", &h, NULL), 0);
	assert_true(h.kind == VSD_HEALTH_TCP && h.port == 8080);
	vsd_health_defaults(&h);
	assert_int_equal(vsd_health_parse_check("http:80", &h, NULL), 0);
	assert_true(h.kind == VSD_HEALTH_HTTP && h.port == 80 && !strcmp(h.path, "/"));
	assert_int_equal(vsd_health_parse_check("http:80/healthz?x=1", &h, NULL), 0);
	assert_string_equal(h.path, "/healthz?x=1");
	const char *bad[] = {"exec:", "exec:   ", "tcp:", "tcp:0", "tcp:65536", "tcp:80/x", "http:80x", "http:80/a b",
			     "http:80/a\r\nX: y", "udp:53", "ping", "", NULL};
	for (int i = 0; bad[i]; i++) {
		vs_err err = {0};
		vsd_health_defaults(&h);
		assert_int_equal(vsd_health_parse_check(bad[i], &h, &err), -1);
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
	}
	char many[600];
	strcpy(many, "exec:");
	for (int i = 0; i < 40; i++)
		strcat(many, "a ");
	assert_int_equal(vsd_health_parse_check(many, &h, NULL), -1);
}

static void test_health_steps(void **state)
{
	(void)state;
	vsd_health h;
	vsd_health_defaults(&h);
	h.retries = 2;
	h.start_period_ms = 1000;
	vsd_health_state s = {0};
	/* Failures inside the start period do not count. */
	assert_false(vsd_health_step(&s, &h, false, 100));
	assert_false(vsd_health_step(&s, &h, false, 900));
	assert_int_equal(s.status, VSD_HEALTH_STARTING);
	assert_int_equal(s.fails, 0);
	assert_false(vsd_health_step(&s, &h, true, 950));
	assert_int_equal(s.status, VSD_HEALTH_HEALTHY);
	/* Once healthy, the start period no longer shields. */
	vsd_health_state t = s;
	assert_false(vsd_health_step(&t, &h, false, 990));
	assert_true(vsd_health_step(&t, &h, false, 995));
	/* After it: retries consecutive failures make it unhealthy, once. */
	assert_false(vsd_health_step(&s, &h, false, 2000));
	assert_int_equal(s.fails, 1);
	assert_false(vsd_health_step(&s, &h, true, 3000));
	assert_int_equal(s.fails, 0);
	assert_false(vsd_health_step(&s, &h, false, 4000));
	assert_true(vsd_health_step(&s, &h, false, 5000));
	assert_int_equal(s.status, VSD_HEALTH_UNHEALTHY);
	assert_false(vsd_health_step(&s, &h, false, 6000));
	assert_false(vsd_health_step(&s, &h, true, 7000));
	assert_int_equal(s.status, VSD_HEALTH_HEALTHY);
	assert_string_equal(vsd_health_status_name(VSD_HEALTH_UNHEALTHY), "unhealthy");
}

static void test_ha_config(void **state)
{
	(void)state;
	struct json_object *c = json_tokener_parse("{\"restart.policy\":\"on-failure:3\",\"health.check\":\"tcp:80\","
						   "\"health.interval\":\"500ms\",\"health.retries\":\"5\","
						   "\"health.timeout\":\"1s\",\"health.start_period\":\"2s\",\"limits.cpu\":\"1\"}");
	vsd_ha ha;
	assert_int_equal(vsd_ha_parse(c, &ha, NULL), 0);
	assert_true(ha.restart.kind == VSD_RESTART_ON_FAILURE && ha.restart.max == 3);
	assert_true(ha.health.kind == VSD_HEALTH_TCP && ha.health.interval_ms == 500 && ha.health.retries == 5 &&
		    ha.health.timeout_ms == 1000 && ha.health.start_period_ms == 2000);
	json_object_put(c);
	c = json_tokener_parse("{\"health.retries\":\"2\"}");
	vs_err err = {0};
	assert_int_equal(vsd_ha_parse(c, &ha, &err), -1);
	assert_non_null(strstr(err.msg, "set health.check"));
	json_object_put(c);
	assert_int_equal(vsd_ha_key("limits.cpu", "1", NULL), 0);
	assert_int_equal(vsd_ha_key("health.retries", "0", NULL), -1);
	assert_int_equal(vsd_ha_key("health.retries", "101", NULL), -1);
	assert_int_equal(vsd_ha_key("health.timeout", "1x", NULL), -1);
	assert_int_equal(vsd_ha_key("restart.policy", "always", NULL), 1);
	assert_int_equal(vsd_ha_parse(NULL, &ha, NULL), 0);
	assert_int_equal(ha.restart.kind, VSD_RESTART_NO);
	assert_int_equal(ha.health.kind, VSD_HEALTH_NONE);
}

static void test_hpa(void **state)
{
	(void)state;
	/* HPA's rule: ceil(current x value / target), within 10 % no change. */
	assert_int_equal(vsd_hpa_raw(3, 90, 50, VSD_HPA_TOLERANCE), 6);
	assert_int_equal(vsd_hpa_raw(4, 52, 50, VSD_HPA_TOLERANCE), 4);
	assert_int_equal(vsd_hpa_raw(4, 56, 50, VSD_HPA_TOLERANCE), 5);
	assert_int_equal(vsd_hpa_raw(10, 20, 50, VSD_HPA_TOLERANCE), 4);
	assert_int_equal(vsd_hpa_raw(0, 90, 50, VSD_HPA_TOLERANCE), 0);
	assert_int_equal(vsd_hpa_raw(2, 90, 0, VSD_HPA_TOLERANCE), 2);
	assert_int_equal(vsd_hpa_raw(2, -1, 50, VSD_HPA_TOLERANCE), 2);
	/* Scale-up capped at max(2x, +4); clamped to [min, max]. */
	assert_int_equal(vsd_hpa_decide(2, 50, NULL, 0, 0, VSD_HPA_DOWN_WINDOW_S, 1, 0), 6);
	assert_int_equal(vsd_hpa_decide(10, 50, NULL, 0, 0, VSD_HPA_DOWN_WINDOW_S, 1, 0), 20);
	assert_int_equal(vsd_hpa_decide(10, 50, NULL, 0, 0, VSD_HPA_DOWN_WINDOW_S, 1, 15), 15);
	assert_int_equal(vsd_hpa_decide(3, 1, NULL, 0, 0, VSD_HPA_DOWN_WINDOW_S, 2, 10), 2);
	/* Scale-down waits for the window: the highest recent recommendation wins. */
	vsd_hpa_sample h[] = {{.t = 100, .desired = 8}, {.t = 350, .desired = 6}, {.t = 390, .desired = 5}};
	assert_int_equal(vsd_hpa_decide(8, 3, h, 3, 400, VSD_HPA_DOWN_WINDOW_S, 1, 0), 8);
	assert_int_equal(vsd_hpa_decide(8, 3, h, 3, 401, VSD_HPA_DOWN_WINDOW_S, 1, 0), 6);
	assert_int_equal(vsd_hpa_decide(8, 3, h, 3, 700, VSD_HPA_DOWN_WINDOW_S, 1, 0), 3);
	assert_int_equal(vsd_hpa_decide(4, 3, h, 3, 400, VSD_HPA_DOWN_WINDOW_S, 1, 0), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_parse),  cmocka_unit_test(test_policy_decide),
		cmocka_unit_test(test_backoff),       cmocka_unit_test(test_durations),
		cmocka_unit_test(test_health_checks), cmocka_unit_test(test_health_steps),
		cmocka_unit_test(test_ha_config),     cmocka_unit_test(test_hpa),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
