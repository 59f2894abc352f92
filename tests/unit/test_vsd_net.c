/* vesseld's IPAM: gateway/prefix parsing, overlap, static addresses and
 * the choice of the next free one; the network config keys of instances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "platform/ipam.h"
#include "platform/network.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static void test_gateway(void **state)
{
	(void)state;
	uint32_t gw;
	int p;
	assert_int_equal(vsd_ipam_gateway("10.10.0.1/24", &gw, &p, NULL), 0);
	assert_true(gw == IP(10, 10, 0, 1) && p == 24);
	/* 192.168.7.252/30: .253 and .254 are its hosts. */
	assert_int_equal(vsd_ipam_gateway("192.168.7.254/30", &gw, &p, NULL), 0);
	assert_int_equal(vsd_ipam_gateway("192.168.7.255/30", &gw, &p, NULL), -1);
	assert_int_equal(vsd_ipam_gateway("192.168.7.252/30", &gw, &p, NULL), -1);
	const char *bad[] = {"10.10.0.0/24", "10.10.0.255/24", "10.10.0.1", "10.10.0.1/", "10.10.0.1/7", "10.10.0.1/31",
			     "10.10.0.1/24x", "10.10.0/24", "300.1.1.1/24", "/24", "", "10.10.0.1/-1", "10.10.0.1/ 24", NULL};
	for (int i = 0; bad[i]; i++) {
		vs_err err = {0};
		assert_int_equal(vsd_ipam_gateway(bad[i], &gw, &p, &err), -1);
		assert_int_equal(err.code, VS_EINVAL_CONFIG);
		assert_non_null(strstr(err.msg, "ipv4.address"));
	}
	assert_int_equal(vsd_ipam_gateway(NULL, &gw, &p, NULL), -1);
}

static void test_overlap(void **state)
{
	(void)state;
	assert_true(vsd_ipam_overlap(IP(10, 1, 0, 1), 24, IP(10, 1, 0, 130), 25));
	assert_true(vsd_ipam_overlap(IP(10, 1, 0, 130), 25, IP(10, 1, 0, 1), 24));
	assert_true(vsd_ipam_overlap(IP(10, 0, 0, 1), 8, IP(10, 200, 3, 1), 24));
	assert_false(vsd_ipam_overlap(IP(10, 1, 0, 1), 24, IP(10, 1, 1, 1), 24));
	assert_false(vsd_ipam_overlap(IP(10, 1, 0, 1), 25, IP(10, 1, 0, 129), 25));
	assert_true(vsd_ipam_contains(IP(172, 16, 0, 1), 12, IP(172, 31, 255, 254)));
	assert_false(vsd_ipam_contains(IP(172, 16, 0, 1), 12, IP(172, 32, 0, 1)));
	assert_int_equal(vsd_ipam_mask(24), 0xffffff00u);
	assert_int_equal(vsd_ipam_mask(0), 0u);
	assert_int_equal(vsd_ipam_mask(32), 0xffffffffu);
}

static void test_hosts(void **state)
{
	(void)state;
	uint32_t gw = IP(10, 5, 0, 1);
	vs_err err = {0};
	assert_int_equal(vsd_ipam_check_host(gw, 24, IP(10, 5, 0, 50), &err), 0);
	assert_int_equal(vsd_ipam_check_host(gw, 24, IP(10, 6, 0, 50), &err), -1);
	assert_non_null(strstr(err.msg, "outside the subnet 10.5.0.0/24"));
	assert_int_equal(vsd_ipam_check_host(gw, 24, IP(10, 5, 0, 255), &err), -1);
	assert_int_equal(vsd_ipam_check_host(gw, 24, IP(10, 5, 0, 0), &err), -1);
	assert_int_equal(vsd_ipam_check_host(gw, 24, gw, &err), -1);
	assert_non_null(strstr(err.msg, "gateway"));
	uint32_t a;
	assert_int_equal(vsd_ipam_pick(gw, 24, NULL, 0, &a, NULL), 0);
	assert_int_equal(a, IP(10, 5, 0, 2));
	uint32_t used[] = {IP(10, 5, 0, 2), IP(10, 5, 0, 4)};
	assert_int_equal(vsd_ipam_pick(gw, 24, used, 2, &a, NULL), 0);
	assert_int_equal(a, IP(10, 5, 0, 3));
	/* A gateway in the middle is skipped too; a full /30 has no room. */
	assert_int_equal(vsd_ipam_pick(IP(10, 5, 0, 2), 30, NULL, 0, &a, NULL), 0);
	assert_int_equal(a, IP(10, 5, 0, 1));
	uint32_t full[] = {IP(10, 5, 0, 1)};
	memset(&err, 0, sizeof(err));
	assert_int_equal(vsd_ipam_pick(IP(10, 5, 0, 2), 30, full, 1, &a, &err), -1);
	assert_non_null(strstr(err.msg, "no free address"));
	char buf[16];
	assert_string_equal(vsd_ipam_fmt(IP(192, 168, 100, 254), buf), "192.168.100.254");
	assert_int_equal(vsd_ipam_addr("1.2.3", &a, NULL), -1);
	assert_int_equal(vsd_ipam_addr("01.2.3.4", &a, NULL), -1);
}

static void test_keys(void **state)
{
	(void)state;
	assert_int_equal(vsd_net_key("network", "web-net", NULL), 1);
	assert_int_equal(vsd_net_key("network", "Bad/Name", NULL), -1);
	assert_int_equal(vsd_net_key("network.ipv4.address", "10.0.0.5", NULL), 1);
	assert_int_equal(vsd_net_key("network.ipv4.address", "10.0.0.5/24", NULL), -1);
	assert_int_equal(vsd_net_key("limits.cpu", "1", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gateway), cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_hosts),   cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
