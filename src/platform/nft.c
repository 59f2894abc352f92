#include "platform/nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "platform/ipam.h"

static int run(const char *what, const char *bridge, const char *cmds, vs_err *err)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft)
		return vs_fail(err, ENOMEM, "nftables: %s for %s", what, bridge);
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	int rc = nft_run_cmd_from_buffer(nft, cmds);
	if (rc != 0) {
		char msg[300];
		const char *e = nft_ctx_get_error_buffer(nft);
		snprintf(msg, sizeof(msg), "%s", e ? e : "failed");
		msg[strcspn(msg, "\n")] = '\0';
		vs_fail(err, EIO, "nftables: %s for %s: %s", what, bridge, msg);
	}
	nft_ctx_free(nft);
	return rc != 0 ? -1 : 0;
}

int vsd_nft_apply(const char *bridge, uint32_t subnet, int prefix, bool nat, vs_err *err)
{
	char net[16], cmds[1024];
	vsd_ipam_fmt(subnet & vsd_ipam_mask(prefix), net);
	/* Create-then-delete-then-define in one batch: one transaction that
	 * replaces whatever the table held (or nothing). */
	snprintf(cmds, sizeof(cmds),
		 "add table ip vessel-%s\n"
		 "delete table ip vessel-%s\n"
		 "table ip vessel-%s {\n"
		 "  chain postrouting {\n"
		 "    type nat hook postrouting priority srcnat; policy accept;\n"
		 "    %s ip saddr %s/%d ip daddr != %s/%d masquerade\n"
		 "  }\n"
		 "  chain forward {\n"
		 "    type filter hook forward priority filter; policy accept;\n"
		 "    iifname \"%s\" accept\n"
		 "    oifname \"%s\" ct state established,related accept\n"
		 "    oifname \"%s\" drop\n"
		 "  }\n"
		 "}\n",
		 bridge, bridge, bridge, nat ? "" : "# no nat:", net, prefix, net, prefix, bridge, bridge, bridge);
	return run("apply the rule set", bridge, cmds, err);
}

bool vsd_nft_exists(const char *bridge)
{
	char cmds[128];
	snprintf(cmds, sizeof(cmds), "list table ip vessel-%s\n", bridge);
	return run("list the rule set", bridge, cmds, NULL) == 0;
}

int vsd_nft_remove(const char *bridge, vs_err *err)
{
	char cmds[256];
	snprintf(cmds, sizeof(cmds), "add table ip vessel-%s\ndelete table ip vessel-%s\n", bridge, bridge);
	return run("remove the rule set", bridge, cmds, err);
}
