/* A managed network's firewall: one nftables table per network
 * (libnftables), replaced in one transaction, so a rule set is either
 * all in force or not at all. */
#ifndef VSD_NFT_H
#define VSD_NFT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

/* Table ip vessel-<bridge>: masquerade from the subnet to anywhere else
 * (nat), forwarding out of the bridge and replies back in. subnet in host order. */
int vsd_nft_apply(const char *bridge, uint32_t subnet, int prefix, bool nat, vs_err *err);
/* Does the network's table exist? */
bool vsd_nft_exists(const char *bridge);
/* Remove the table (absent is success). */
int vsd_nft_remove(const char *bridge, vs_err *err);

#endif
