/* nftables rules for a network, installed as one atomic libnftables batch. */
#include "net/nft.h"
#include "net/mdata_serve.h"

#include "vmm/log.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>


int nft_net_script(const struct netdef *d, char *buf, size_t size)
{
	char net[16], ip[16], br[32], dnat[256];
	uint32_t mask = netdef_mask(d->prefix);
	int n;

	netdef_ipstr(d->addr & mask, net);
	netdef_ipstr(d->addr, ip);
	snprintf(br, sizeof(br), "\"%s\"", d->bridge);
	/* The metadata service (net/mdata_serve.h), in every network's table:
	 * guests' 169.254.169.254:80, only from the bridge, goes to the helper
	 * on the bridge address. */
	snprintf(dnat, sizeof(dnat),
		 " chain prerouting {\n"
		 "  type nat hook prerouting priority dstnat; policy accept;\n"
		 "  iifname %s ip daddr 169.254.169.254 tcp dport 80 dnat to %s:%u\n"
		 " }\n",
		 br, ip, MDATA_PORT);
	if (d->forward == NET_FWD_NAT) {
		/* As libvirt: masquerade what leaves the subnet, except
		 * multicast and limited broadcast; let replies back in. */
		n = snprintf(
		    buf, size,
		    "table ip minivmm-%1$s {\n"
		    "%5$s"
		    " chain postrouting {\n"
		    "  type nat hook postrouting priority srcnat; policy accept;\n"
		    "  ip saddr %2$s/%3$u ip daddr 224.0.0.0/24 return\n"
		    "  ip saddr %2$s/%3$u ip daddr 255.255.255.255 return\n"
		    "  ip saddr %2$s/%3$u ip daddr != %2$s/%3$u masquerade\n"
		    " }\n"
		    " chain forward {\n"
		    "  type filter hook forward priority filter; policy accept;\n"
		    "  iifname %4$s oifname %4$s accept\n"
		    "  iifname %4$s ip saddr %2$s/%3$u accept\n"
		    "  oifname %4$s ip daddr %2$s/%3$u ct state established,related accept\n"
		    "  iifname %4$s reject\n"
		    "  oifname %4$s reject\n"
		    " }\n"
		    "}\n",
		    d->name, net, d->prefix, br, dnat);
	} else if (d->forward == NET_FWD_ROUTE) {
		n = snprintf(buf, size,
			     "table ip minivmm-%1$s {\n"
			     "%5$s"
			     " chain forward {\n"
			     "  type filter hook forward priority filter; policy accept;\n"
			     "  iifname %4$s oifname %4$s accept\n"
			     "  iifname %4$s ip saddr %2$s/%3$u accept\n"
			     "  oifname %4$s ip daddr %2$s/%3$u accept\n"
			     "  iifname %4$s reject\n"
			     "  oifname %4$s reject\n"
			     " }\n"
			     "}\n",
			     d->name, net, d->prefix, br, dnat);
	} else {
		n = snprintf(buf, size, "table ip minivmm-%s {\n%s}\n", d->name, dnat);
	}
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

static int run(const char *name, const char *cmd, const char *what)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int r;

	if (!ctx)
		return -ENOMEM;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, cmd);
	if (r) {
		const char *err = nft_ctx_get_error_buffer(ctx);
		char line[256];
		/* First line of nft's message, for a one-line error. */
		snprintf(line, sizeof(line), "%s", err ? err : "");
		line[strcspn(line, "\n")] = '\0';
		log_error("net %s: %s: %s%s", name, what, line[0] ? line : "nftables error",
			  strstr(line, "ermission") ? " (needs root or CAP_NET_ADMIN)" : "");
		r = strstr(line, "ermission") ? -EPERM : -EIO;
	}
	nft_ctx_free(ctx);
	return r;
}

int nft_net_add(const struct netdef *d)
{
	char script[2048];
	int r = nft_net_script(d, script, sizeof(script));

	if (r < 0 || !script[0])
		return r;
	return run(d->name, script, "installing nftables rules");
}

int nft_net_del(const char *name)
{
	char cmd[160];

	/* "add" first makes the delete succeed when the table is already
	 * gone; both run in one transaction. */
	snprintf(cmd, sizeof(cmd), "add table ip minivmm-%s\ndelete table ip minivmm-%s\n", name,
		 name);
	return run(name, cmd, "removing nftables table");
}

bool nft_net_exists(const char *name)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char cmd[160];

	if (!ctx)
		return false;
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	snprintf(cmd, sizeof(cmd), "list table ip minivmm-%s", name);
	bool found = nft_run_cmd_from_buffer(ctx, cmd) == 0;
	nft_ctx_free(ctx);
	return found;
}
