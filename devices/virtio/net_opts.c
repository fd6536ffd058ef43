/* --bridge / --tap values: NAME[,mac=MAC]. */
#include "devices/virtio/net_opts.h"

#include "vmm/log.h"

#include <errno.h>
#include <string.h>

int net_opts_parse_mac(const char *flag, const char *value, const char *opt, size_t len,
		       bool *has_mac, uint8_t mac[NET_MAC_LEN])
{
	char text[32];
	const char *why;

	if (*has_mac) {
		log_error("%s '%s': mac= given twice", flag, value);
		return -EINVAL;
	}
	if (len - 4 >= sizeof(text)) {
		log_error("%s '%s': MAC %.*s: not six hex bytes like 52:54:00:12:34:56", flag,
			  value, (int)(len - 4), opt + 4);
		return -EINVAL;
	}
	memcpy(text, opt + 4, len - 4);
	text[len - 4] = '\0';
	if (net_mac_parse(text, mac, &why) < 0) {
		log_error("%s '%s': MAC %s: %s", flag, value, text, why);
		return -EINVAL;
	}
	*has_mac = true;
	return 0;
}

static int parse_option(const char *flag, const char *value, const char *opt, size_t len,
			struct net_opts *o)
{
	if (len > 4 && !strncmp(opt, "mac=", 4))
		return net_opts_parse_mac(flag, value, opt, len, &o->has_mac, o->mac);
	log_error("%s '%s': unknown option '%.*s' (expected mac=MAC)", flag, value, (int)len, opt);
	return -EINVAL;
}

int net_opts_parse(const char *flag, const char *value, struct net_opts *o)
{
	memset(o, 0, sizeof(*o));
	const char *comma = strchr(value, ',');
	size_t name_len = comma ? (size_t)(comma - value) : strlen(value);

	if (name_len == 0) {
		log_error("%s '%s': needs a name: %s NAME[,mac=MAC]", flag, value, flag);
		return -EINVAL;
	}
	if (name_len > NET_OPTS_NAME_MAX) {
		log_error("%s '%s': name longer than %d characters", flag, value, NET_OPTS_NAME_MAX);
		return -EINVAL;
	}
	if (memchr(value, '/', name_len)) {
		log_error("%s '%s': a network or interface name cannot contain '/'", flag, value);
		return -EINVAL;
	}
	memcpy(o->name, value, name_len);
	while (comma) {
		const char *opt = comma + 1;
		comma = strchr(opt, ',');
		size_t len = comma ? (size_t)(comma - opt) : strlen(opt);
		if (parse_option(flag, value, opt, len, o) < 0)
			return -EINVAL;
	}
	return 0;
}
