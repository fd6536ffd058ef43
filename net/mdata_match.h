/* Which VM a metadata request comes from, and its answer. A request is
 * matched by its source IPv4 address to the MAC whose DHCP lease holds
 * that address now (offered-only and expired leases do not count), and
 * that MAC to its record (net/mdata_record.h). So a VM reads only its own
 * data: an address without a current lease, or a MAC without a record, is
 * answered 404. (The server only accepts connections that arrived on the
 * network's bridge; see net/README.md.) */
#ifndef MINIVMM_NET_MDATA_MATCH_H
#define MINIVMM_NET_MDATA_MATCH_H

#include "net/dhcp_lease.h"
#include "net/mdata_record.h"
#include "net/mdata_tree.h"

#include <stdint.h>
#include <time.h>

/* The MAC bound to src_ip (host order) now. 0 or -ENOENT. */
int mdata_match(const struct dhcp_leases *l, uint32_t src_ip, time_t now, uint8_t mac[6]);

/* Answers GET path from src_ip: match, check the MAC the host's neighbour
 * table holds for src_ip on the bridge (mac_seen; NULL: not checked) is
 * the lease's, so a guest that took another's address by ARP spoofing
 * gets nothing, read the record from dir (the network's record
 * directory), fill local-ipv4, look path up. *rec holds
 * what out's body may point into: mdata_record_free(rec) after sending
 * (also safe when nothing matched). Statuses: those of mdata_tree_get(),
 * 404 without a lease or record or with another MAC, 500 for an unusable
 * record. */
void mdata_answer(const struct dhcp_leases *l, const char *dir, uint32_t src_ip,
		  const uint8_t *mac_seen, time_t now, const char *path, struct mdata_record *rec,
		  struct mdata_reply *out);

#endif
