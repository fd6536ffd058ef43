/* Request -> VM -> reply (rules in mdata_match.h). */
#include "net/mdata_match.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int mdata_match(const struct dhcp_leases *l, uint32_t src_ip, time_t now, uint8_t mac[6])
{
	struct dhcp_lease e;

	if (src_ip == 0)
		return -ENOENT;
	for (size_t i = 0; i < dhcp_leases_count(l); i++)
		if (dhcp_leases_get(l, i, &e) == 0 && e.ip == src_ip &&
		    dhcp_lease_current(l, e.mac, now) == src_ip) {
			memcpy(mac, e.mac, 6);
			return 0;
		}
	return -ENOENT;
}

static void error_reply(struct mdata_reply *out, int status, const char *msg)
{
	out->status = status;
	out->content_type = "text/plain";
	out->body = msg;
	out->body_len = strlen(msg);
}

void mdata_answer(const struct dhcp_leases *l, const char *dir, uint32_t src_ip,
		  const uint8_t *mac_seen, time_t now, const char *path, struct mdata_record *rec,
		  struct mdata_reply *out)
{
	uint8_t mac[6];

	memset(rec, 0, sizeof(*rec));
	if (mdata_match(l, src_ip, now, mac) < 0) {
		error_reply(out, 404, "no DHCP lease for this address\n");
		return;
	}
	if (mac_seen && memcmp(mac_seen, mac, 6)) {
		error_reply(out, 404, "this address is leased to another MAC\n");
		return;
	}
	int r = mdata_record_read(dir, mac, rec);
	if (r == -ENOENT) {
		error_reply(out, 404, "no metadata for this VM\n");
		return;
	}
	if (r < 0) {
		error_reply(out, 500, "this VM's metadata record is unusable\n");
		return;
	}
	struct in_addr a = { .s_addr = htonl(src_ip) };
	inet_ntop(AF_INET, &a, rec->vm.local_ipv4, sizeof(rec->vm.local_ipv4));
	mdata_tree_get(&rec->vm, path, out);
}
