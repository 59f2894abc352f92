#include "platform/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

typedef struct nl {
	struct mnl_socket *s;
	unsigned portid, seq;
	char buf[8192];
} nl;

static int nl_open(nl *n, vs_err *err)
{
	n->s = mnl_socket_open(NETLINK_ROUTE);
	if (!n->s || mnl_socket_bind(n->s, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		if (n->s)
			mnl_socket_close(n->s);
		return vs_fail(err, e, "netlink: open");
	}
	n->portid = mnl_socket_get_portid(n->s);
	n->seq = (unsigned)time(NULL);
	return 0;
}

static void nl_close(nl *n)
{
	if (n->s)
		mnl_socket_close(n->s);
}

static struct nlmsghdr *msg(nl *n, int type, int flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(n->buf);
	h->nlmsg_type = (uint16_t)type;
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	h->nlmsg_seq = ++n->seq;
	return h;
}

/* Send and wait for the ack: -1 with errno from the kernel. */
static int talk(nl *n, struct nlmsghdr *h)
{
	if (mnl_socket_sendto(n->s, h, h->nlmsg_len) < 0)
		return -1;
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(n->s, n->buf, sizeof(n->buf));
		if (r < 0)
			return -1;
		int rc = mnl_cb_run(n->buf, (size_t)r, n->seq, n->portid, NULL, NULL);
		if (rc <= MNL_CB_STOP)
			return rc < 0 ? -1 : 0;
	}
}

static struct ifinfomsg *ifinfo(struct nlmsghdr *h, int index)
{
	struct ifinfomsg *i = mnl_nlmsg_put_extra_header(h, sizeof(*i));
	i->ifi_family = AF_UNSPEC;
	i->ifi_index = index;
	return i;
}

static int link_up(nl *n, int index, int master)
{
	struct nlmsghdr *h = msg(n, RTM_NEWLINK, 0);
	struct ifinfomsg *i = ifinfo(h, index);
	i->ifi_flags = IFF_UP;
	i->ifi_change = IFF_UP;
	if (master > 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
	return talk(n, h);
}

static int addr_add(nl *n, int index, uint32_t addr, int prefix)
{
	struct nlmsghdr *h = msg(n, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *a = mnl_nlmsg_put_extra_header(h, sizeof(*a));
	a->ifa_family = AF_INET;
	a->ifa_prefixlen = (unsigned char)prefix;
	a->ifa_index = (unsigned)index;
	mnl_attr_put_u32(h, IFA_LOCAL, addr);
	mnl_attr_put_u32(h, IFA_ADDRESS, addr);
	return talk(n, h);
}

static int route_default(nl *n, int index, uint32_t gw)
{
	struct nlmsghdr *h = msg(n, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
	struct rtmsg *r = mnl_nlmsg_put_extra_header(h, sizeof(*r));
	r->rtm_family = AF_INET;
	r->rtm_table = RT_TABLE_MAIN;
	r->rtm_protocol = RTPROT_BOOT;
	r->rtm_scope = RT_SCOPE_UNIVERSE;
	r->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(h, RTA_GATEWAY, gw);
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
	return talk(n, h);
}

int vsd_nl_bridge_add(const char *name, uint32_t gw, int prefix, vs_err *err)
{
	nl n;
	if (nl_open(&n, err) < 0)
		return -1;
	struct nlmsghdr *h = msg(&n, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifinfo(h, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	/* A MAC of its own (locally administered): else the bridge takes its
	 * lowest port's, which changes as instances come and go, and every
	 * instance's ARP entry for the gateway goes stale until it expires. */
	unsigned char mac[6];
	if (getrandom(mac, sizeof(mac), 0) != (ssize_t)sizeof(mac))
		memset(mac, 0x5a, sizeof(mac));
	mac[0] = (unsigned char)((mac[0] & 0xfe) | 0x02);
	mnl_attr_put(h, IFLA_ADDRESS, sizeof(mac), mac);
	struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, li);
	int rc = 0;
	if (talk(&n, h) < 0) {
		rc = vs_fail(err, errno, "create bridge %s", name);
	} else {
		int index = (int)if_nametoindex(name);
		if (index <= 0 || addr_add(&n, index, gw, prefix) < 0 || link_up(&n, index, 0) < 0) {
			rc = vs_fail(err, errno, "configure bridge %s", name);
			vsd_nl_link_del(name, NULL);
		}
	}
	nl_close(&n);
	return rc;
}

int vsd_nl_link_del(const char *name, vs_err *err)
{
	int index = (int)if_nametoindex(name);
	if (index <= 0)
		return 0;
	nl n;
	if (nl_open(&n, err) < 0)
		return -1;
	struct nlmsghdr *h = msg(&n, RTM_DELLINK, 0);
	ifinfo(h, index);
	int rc = talk(&n, h) < 0 && errno != ENODEV ? vs_fail(err, errno, "delete link %s", name) : 0;
	nl_close(&n);
	return rc;
}

bool vsd_nl_link_exists(const char *name)
{
	return if_nametoindex(name) > 0;
}

static int open_netns(pid_t pid, vs_err *err)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? vs_fail(err, errno, "open %s", p) : fd;
}

int vsd_nl_veth_add(const char *host, const char *bridge, pid_t pid, const char *peer, vs_err *err)
{
	int master = (int)if_nametoindex(bridge);
	if (master <= 0)
		return vs_fail(err, ENOENT, "bridge %s not found", bridge);
	int nsfd = open_netns(pid, err);
	if (nsfd < 0)
		return -1;
	nl n;
	if (nl_open(&n, err) < 0) {
		close(nsfd);
		return -1;
	}
	struct nlmsghdr *h = msg(&n, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifinfo(h, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, host);
	struct nlattr *li = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	struct nlattr *pe = mnl_attr_nest_start(h, VETH_INFO_PEER);
	ifinfo(h, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, peer);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_nest_end(h, pe);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, li);
	int rc = 0;
	if (talk(&n, h) < 0) {
		rc = vs_fail(err, errno, "create veth %s for pid %d", host, (int)pid);
	} else {
		int index = (int)if_nametoindex(host);
		if (index <= 0 || link_up(&n, index, master) < 0) {
			rc = vs_fail(err, errno, "attach veth %s to %s", host, bridge);
			vsd_nl_link_del(host, NULL);
		}
	}
	close(nsfd);
	nl_close(&n);
	return rc;
}

typedef struct ns_job {
	int nsfd;
	const char *ifname;
	uint32_t addr, gw;
	int prefix;
	vs_err err;
	int rc;
} ns_job;

/* A thread of its own enters the namespace, so the caller's stays put. */
static void *ns_thread(void *p)
{
	ns_job *j = p;
	j->rc = -1;
	if (setns(j->nsfd, CLONE_NEWNET) < 0) {
		vs_fail(&j->err, errno, "enter network namespace");
		return NULL;
	}
	nl n;
	if (nl_open(&n, &j->err) < 0)
		return NULL;
	/* ICMP echo sockets for every group, as Docker sets in each container. */
	int pg = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	if (pg >= 0) {
		ssize_t w = write(pg, "0 2147483647", 12);
		(void)w; /* a kernel without it: raw sockets only */
		close(pg);
	}
	int lo = (int)if_nametoindex("lo");
	if (lo <= 0 || link_up(&n, lo, 0) < 0) {
		vs_fail(&j->err, errno, "set lo up");
	} else if (j->ifname) {
		int index = (int)if_nametoindex(j->ifname);
		if (index <= 0)
			vs_fail(&j->err, errno, "find %s", j->ifname);
		else if (addr_add(&n, index, j->addr, j->prefix) < 0)
			vs_fail(&j->err, errno, "add the address to %s", j->ifname);
		else if (link_up(&n, index, 0) < 0)
			vs_fail(&j->err, errno, "set %s up", j->ifname);
		else if (j->gw && route_default(&n, index, j->gw) < 0)
			vs_fail(&j->err, errno, "add the default route via %s", j->ifname);
		else
			j->rc = 0;
	} else {
		j->rc = 0;
	}
	nl_close(&n);
	return NULL;
}

int vsd_nl_ns_setup(pid_t pid, const char *ifname, uint32_t addr, int prefix, uint32_t gw, vs_err *err)
{
	ns_job j = {.ifname = ifname, .addr = addr, .gw = gw, .prefix = prefix};
	if ((j.nsfd = open_netns(pid, err)) < 0)
		return -1;
	pthread_t t;
	int e = pthread_create(&t, NULL, ns_thread, &j);
	if (e != 0) {
		close(j.nsfd);
		return vs_fail(err, e, "network namespace of pid %d: thread", (int)pid);
	}
	pthread_join(t, NULL);
	close(j.nsfd);
	if (j.rc < 0) {
		if (err)
			*err = j.err;
		return vs_wrap(err, "network namespace of pid %d", (int)pid);
	}
	return 0;
}
