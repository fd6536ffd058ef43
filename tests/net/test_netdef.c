/* The libvirt network XML subset: accepted documents, the round trip, and
 * every rejected element, attribute and value. */
#include "net/netdef.h"
#include "xml/xml.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lab's network, verbatim. */
static const char LAB[] = "<network>\n"
			  "  <name>vbr</name>\n"
			  "  <forward mode='nat'/>\n"
			  "  <bridge name='vbr' stp='on' delay='0'/>\n"
			  "  <ip address='192.168.100.254' netmask='255.255.255.0'>\n"
			  "    <dhcp>\n"
			  "      <range start='192.168.100.128' end='192.168.100.200'/>\n"
			  "    </dhcp>\n"
			  "  </ip>\n"
			  "</network>\n";

static int parse(const char *xml, struct netdef *d)
{
	log_clear_last_error();
	return netdef_from_xml(xml, strlen(xml), "t.xml", d);
}

START_TEST(lab_network)
{
	struct netdef d;
	ck_assert_int_eq(parse(LAB, &d), 0);
	ck_assert_str_eq(d.name, "vbr");
	ck_assert_int_eq(d.forward, NET_FWD_NAT);
	ck_assert_str_eq(d.bridge, "vbr");
	ck_assert(d.stp);
	ck_assert_uint_eq(d.delay, 0);
	ck_assert(d.has_ip);
	ck_assert_uint_eq(d.addr, 0xc0a864fe);
	ck_assert_uint_eq(d.prefix, 24);
	ck_assert(d.has_dhcp);
	ck_assert_uint_eq(d.range_start, 0xc0a86480);
	ck_assert_uint_eq(d.range_end, 0xc0a864c8);
	ck_assert_uint_eq(d.lease_secs, 3600);
	netdef_free(&d);
}
END_TEST

START_TEST(full_subset_and_round_trip)
{
	static const char xml[] =
	    "<?xml version='1.0'?>\n<!-- a comment -->\n"
	    "<network>\n<name> lab2 </name><uuid>7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6</uuid>\n"
	    "<forward mode=\"route\"/><bridge name='br-lab2' stp='off' delay='2'/>"
	    "<mac address='52:54:00:0a:0b:0c'/><mtu size='1400'/>"
	    "<ip address='10.9.0.1' prefix='16' family='ipv4'><dhcp>"
	    "<range start='10.9.1.0' end='10.9.1.99'><lease expiry='2' unit='hours'/></range>"
	    "<host mac='52:54:00:00:00:01' ip='10.9.0.5' name='db'/>"
	    "<host mac='52:54:00:00:00:02' ip='10.9.0.6'/>"
	    "</dhcp></ip></network>";
	struct netdef d, e;
	char *out;

	ck_assert_int_eq(parse(xml, &d), 0);
	ck_assert_str_eq(d.name, "lab2");
	ck_assert_str_eq(d.uuid, "7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6");
	ck_assert_int_eq(d.forward, NET_FWD_ROUTE);
	ck_assert_str_eq(d.bridge, "br-lab2");
	ck_assert(!d.stp);
	ck_assert_uint_eq(d.delay, 2);
	ck_assert(d.has_mac);
	ck_assert_uint_eq(d.mac[5], 0x0c);
	ck_assert_uint_eq(d.mtu, 1400);
	ck_assert_uint_eq(d.prefix, 16);
	ck_assert_uint_eq(d.lease_secs, 7200);
	ck_assert_uint_eq(d.nhosts, 2);
	ck_assert_str_eq(d.hosts[0].name, "db");
	ck_assert_uint_eq(d.hosts[1].ip, 0x0a090006);

	ck_assert_int_eq(netdef_to_xml(&d, &out), 0);
	ck_assert_int_eq(parse(out, &e), 0);
	ck_assert_str_eq(e.name, d.name);
	ck_assert_str_eq(e.uuid, d.uuid);
	ck_assert_str_eq(e.bridge, d.bridge);
	ck_assert_int_eq(e.forward, d.forward);
	ck_assert_int_eq(e.stp, d.stp);
	ck_assert_uint_eq(e.delay, d.delay);
	ck_assert_uint_eq(e.mtu, d.mtu);
	ck_assert_mem_eq(e.mac, d.mac, 6);
	ck_assert_uint_eq(e.addr, d.addr);
	ck_assert_uint_eq(e.prefix, d.prefix);
	ck_assert_uint_eq(e.range_start, d.range_start);
	ck_assert_uint_eq(e.range_end, d.range_end);
	ck_assert_uint_eq(e.lease_secs, d.lease_secs);
	ck_assert_uint_eq(e.nhosts, 2);
	ck_assert_mem_eq(e.hosts, d.hosts, 2 * sizeof(*d.hosts));
	free(out);
	netdef_free(&d);
	netdef_free(&e);
}
END_TEST

START_TEST(defaults)
{
	struct netdef d;
	ck_assert_int_eq(parse("<network><name>iso</name></network>", &d), 0);
	ck_assert_int_eq(d.forward, NET_FWD_NONE);
	ck_assert_str_eq(d.bridge, "iso");
	ck_assert(!d.has_ip);
	netdef_free(&d);
	ck_assert_int_eq(parse("<network><name>n</name><forward/>"
			       "<ip address='10.0.0.1' prefix='24'/></network>",
			       &d),
			 0);
	ck_assert_int_eq(d.forward, NET_FWD_NAT);
	netdef_free(&d);
}
END_TEST

/* Each rejected document and a piece of the one-line error it must give. */
static const struct {
	const char *xml;
	const char *msg;
} rejected[] = {
    /* unsupported elements and attributes, named */
    {"<network><name>n</name><dns/></network>", "element <dns> in <network> is not supported"},
    {"<network ipv6='yes'><name>n</name></network>", "attribute 'ipv6' of <network>"},
    {"<network><name>n</name><forward mode='nat'><nat/></forward></network>",
     "element <nat> in <forward>"},
    {"<network><name>n</name><forward dev='eth0'/></network>", "attribute 'dev' of <forward>"},
    {"<network><name>n</name><bridge name='b' zone='x'/></network>",
     "attribute 'zone' of <bridge>"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24' localPtr='yes'/></network>",
     "attribute 'localPtr' of <ip>"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><tftp/></ip></network>",
     "element <tftp> in <ip>"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><bootp/></dhcp></ip>"
     "</network>",
     "element <bootp> in <dhcp>"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><host mac='52:54:00:"
     "00:00:01' ip='10.0.0.2'><lease/></host></dhcp></ip></network>",
     "element <lease> in <host>"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><host id='0:1' "
     "ip='10.0.0.2'/></dhcp></ip></network>",
     "attribute 'id' of <host>"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' "
     "end='10.0.0.9'><lease expiry='1' unit='days'/></range></dhcp></ip></network>",
     "expected seconds, minutes or hours"},
    {"<domain><name>n</name></domain>", "root element is <domain>"},
    {"<network><name>n</name><ip family='ipv6' address='10.0.0.1' prefix='24'/></network>",
     "IPv6 is not supported"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'/><ip address='10.1.0.1' "
     "prefix='24'/></network>",
     "only one <ip> in <network>"},
    {"<network><name>n</name><name>m</name></network>", "only one <name>"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' "
     "end='10.0.0.3'/><range start='10.0.0.5' end='10.0.0.6'/></dhcp></ip></network>",
     "only one <range>"},
    /* bad values */
    {"<network><name>n</name><forward mode='bridge'/></network>", "expected nat, route or none"},
    {"<network><name>n</name><bridge stp='maybe'/></network>", "expected on or off"},
    {"<network><name>n</name><bridge delay='x'/></network>", "<bridge delay='x'>"},
    {"<network><name>n</name><bridge delay='99'/></network>", "<bridge delay='99'>"},
    {"<network><name>n</name><bridge name='abcdefghijklmnop'/></network>", "at most 15 characters"},
    {"<network><name>n</name><ip address='10.0.0.300' prefix='24'/></network>",
     "expected an IPv4 address"},
    {"<network><name>n</name><ip prefix='24'/></network>", "attribute missing"},
    {"<network><name>n</name><ip address='10.0.0.1'/></network>", "a netmask or prefix"},
    {"<network><name>n</name><ip address='10.0.0.1' netmask='255.0.255.0'/></network>",
     "contiguous netmask"},
    {"<network><name>n</name><ip address='10.0.0.1' netmask='255.0.0.0' prefix='8'/></network>",
     "not both"},
    {"<network><name>n</name><ip address='10.0.0.0' prefix='24'/></network>", "not a host address"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='31'/></network>", "not a host address"},
    {"<network><name>n</name><mac address='nope'/></network>", "a MAC address"},
    {"<network><name>n</name><mtu size='20'/></network>", "mtu 68-65535"},
    /* semantic errors */
    {"<network><name>n</name><ip address='192.168.100.254' prefix='24'><dhcp><range "
     "start='192.168.1.128' end='192.168.1.200'/></dhcp></ip></network>",
     "outside subnet 192.168.100.0/24"},
    {"<network><name>n</name><ip address='192.168.100.254' prefix='24'><dhcp><range "
     "start='192.168.100.200' end='192.168.100.128'/></dhcp></ip></network>",
     "start is after end"},
    {"<network><name>n</name><ip address='192.168.100.254' prefix='24'><dhcp><range "
     "start='192.168.100.0' end='192.168.100.20'/></dhcp></ip></network>",
     "outside subnet"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><host "
     "mac='52:54:00:00:00:01' ip='10.1.0.2'/></dhcp></ip></network>",
     "not usable in subnet"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp>"
     "<host mac='52:54:00:00:00:01' ip='10.0.0.2'/><host mac='52:54:00:00:00:01' "
     "ip='10.0.0.3'/></dhcp></ip></network>",
     "given twice"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><host mac='zz' "
     "ip='10.0.0.2'/></dhcp></ip></network>",
     "a MAC address like"},
    {"<network><name>n</name><ip address='10.0.0.1' prefix='24'><dhcp><host "
     "mac='52:54:00:00:00:01' ip='10.0.0.2' name='a b'/></dhcp></ip></network>",
     "a host name"},
    {"<network><name>n</name><forward mode='nat'/></network>", "needs an <ip> address"},
    {"<network><name>bad/name</name></network>", "network name 'bad/name' is invalid"},
    {"<network><name>two words</name></network>", "wants one word"},
    {"<network><forward/></network>", "<name> is missing"},
    {"<network><name>averyveryverylongname</name></network>", "bridge name '' is invalid"},
    /* XML syntax */
    {"", "no root element"},
    {"<network><name>n</name>", "element not closed"},
    {"<network><name>n</nam></network>", "mismatched closing tag"},
    {"<network><name>n</name></network><x/>", "content after the root element"},
    {"<!DOCTYPE network><network/>", "DOCTYPE and CDATA are not supported"},
    {"<network><name><![CDATA[n]]></name></network>", "CDATA"},
    {"<network a=1><name>n</name></network>", "must be quoted"},
    {"<network a='1' a='2'><name>n</name></network>", "duplicate attribute"},
    {"<network a='1'b='2'/>", "expected whitespace"},
    {"<network><name>&foo;</name></network>", "unknown entity"},
    /* a character reference is UTF-8 now (libxml2); the name check refuses it */
    {"<network><name>&#300;</name></network>", "network name '\xc4\xac' is invalid"},
    {"<network><name>&#0;</name></network>", "bad character reference"},
    {"<network><name>&#xZZ;</name></network>", "bad character reference"},
    {"<network><name>n\xff</name></network>", "must be UTF-8"},
    {"<network><name>n</name><name2 x='&#0;'/></network>", "bad character reference"},
    {"<network a='<'/>", "'<' or NUL in attribute value"},
    {"<network a='x", "unterminated attribute value"},
    {"<network><!-- x </network>", "unterminated comment"},
    {"<network>text<name>n</name></network>", "text inside <network>"},
    {"<1network/>", "expected a name"},
};

START_TEST(rejected_case)
{
	struct netdef d;
	int r = parse(rejected[_i].xml, &d);
	if (r != -EINVAL || !strstr(log_last_error(), rejected[_i].msg))
		ck_abort_msg("case %d: rc %d, error \"%s\", wanted \"%s\"", _i, r, log_last_error(),
			     rejected[_i].msg);
	ck_assert_ptr_null(d.hosts);
}
END_TEST

START_TEST(error_names_line)
{
	struct netdef d;
	ck_assert_int_eq(parse("<network>\n<name>n</name>\n\n<dns/>\n</network>", &d), -EINVAL);
	ck_assert_str_eq(log_last_error(),
			 "net: t.xml:4: element <dns> in <network> is not supported");
}
END_TEST

START_TEST(deep_nesting_refused)
{
	char buf[2048] = "";
	for (int i = 0; i < 40; i++)
		strcat(buf, "<a>");
	struct xml_node *root;
	ck_assert_int_eq(xml_parse(buf, strlen(buf), "deep", &root), -EINVAL);
	ck_assert(strstr(log_last_error(), "nested too deeply") != NULL);
}
END_TEST

START_TEST(entities_decoded)
{
	struct xml_node *root;
	const char *x = "<a v='&lt;&amp;&#65;&#x42;&quot;'>x&gt;y</a>";
	ck_assert_int_eq(xml_parse(x, strlen(x), "e", &root), 0);
	ck_assert_str_eq(xml_attr(root, "v"), "<&AB\"");
	ck_assert_str_eq(root->text, "x>y");
	ck_assert_ptr_null(xml_attr(root, "w"));
	xml_free(root);
	/* a character reference cut at the end of an unterminated buffer */
	char *cut = malloc(7);
	memcpy(cut, "<a>&#65", 7);
	ck_assert_int_eq(xml_parse(cut, 7, "cut", &root), -EINVAL);
	ck_assert(strstr(log_last_error(), "character reference") != NULL);
	free(cut);
}
END_TEST

START_TEST(mutated_documents_never_crash)
{
	static const char full[] =
	    "<?xml version='1.0'?><network><name>n</name><uuid>u</uuid><forward mode='nat'/>"
	    "<bridge name='b' stp='on' delay='0'/><mac address='52:54:00:00:00:09'/>"
	    "<mtu size='1500'/><ip address='10.0.0.1' prefix='24'><dhcp><range "
	    "start='10.0.0.2' end='10.0.0.9'><lease expiry='1' unit='hours'/></range>"
	    "<host mac='52:54:00:00:00:01' ip='10.0.0.20' name='h'/></dhcp></ip></network>";
	static const char alphabet[] = "<>/='\"&;# !-?abn0.:\n";
	unsigned seed = 99;
	char buf[sizeof(full)];

	/* Random byte changes and truncations: the parser must return 0 or
	 * -EINVAL, free everything (LeakSanitizer) and never read out of
	 * bounds (the buffer is not NUL-terminated at the cut). */
	for (int i = 0; i < 5000; i++) {
		memcpy(buf, full, sizeof(full));
		for (int k = 0; k < 1 + i % 4; k++)
			buf[(size_t)rand_r(&seed) % (sizeof(full) - 1)] =
			    alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
		size_t len = sizeof(full) - 1 - (size_t)rand_r(&seed) % 8;
		char *heap = malloc(len);
		memcpy(heap, buf, len);
		struct netdef d;
		int r = netdef_from_xml(heap, len, "fuzz", &d);
		ck_assert(r == 0 || r == -EINVAL);
		if (r == 0)
			netdef_free(&d);
		free(heap);
	}
}
END_TEST

START_TEST(create_args)
{
	struct netdef d;
	ck_assert_int_eq(netdef_from_args(&d, "vbr", "192.168.100.254/24",
					  "192.168.100.128-192.168.100.200", NET_FWD_NAT, NULL),
			 0);
	ck_assert_str_eq(d.bridge, "vbr");
	ck_assert_uint_eq(d.addr, 0xc0a864fe);
	ck_assert_uint_eq(d.prefix, 24);
	ck_assert_uint_eq(d.range_end, 0xc0a864c8);
	ck_assert_int_eq(netdef_from_args(&d, "vbr", "192.168.100.254", NULL, NET_FWD_NAT, NULL),
			 -EINVAL);
	ck_assert(strstr(log_last_error(), "--subnet") != NULL);
	ck_assert_int_eq(
	    netdef_from_args(&d, "vbr", "192.168.100.254/24", "192.168.100.1", NET_FWD_NAT, NULL),
	    -EINVAL);
	ck_assert_int_eq(netdef_from_args(&d, "vbr", "192.168.100.254/24", "10.0.0.1-10.0.0.9",
					  NET_FWD_NAT, NULL),
			 -EINVAL);
	ck_assert(strstr(log_last_error(), "outside subnet") != NULL);
	ck_assert_int_eq(
	    netdef_from_args(&d, "a-very-long-network", "10.0.0.1/24", NULL, NET_FWD_NAT, NULL),
	    -EINVAL);
	ck_assert(strstr(log_last_error(), "--bridge") != NULL);
}
END_TEST

START_TEST(overlap)
{
	struct netdef a, b;
	ck_assert_int_eq(netdef_from_args(&a, "a", "192.168.100.254/24", NULL, NET_FWD_NAT, NULL),
			 0);
	ck_assert_int_eq(netdef_from_args(&b, "b", "192.168.0.1/16", NULL, NET_FWD_NAT, NULL), 0);
	ck_assert(netdef_overlaps(&a, &b));
	ck_assert_int_eq(netdef_from_args(&b, "b", "192.168.101.1/24", NULL, NET_FWD_NAT, NULL), 0);
	ck_assert(!netdef_overlaps(&a, &b));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("netdef");
	TCase *tc = tcase_create("xml");

	log_set_quiet(true);
	/* the 5000 mutated documents take ~1 s of CPU under ASan; Check's 4 s
	 * default fails on a loaded machine */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lab_network);
	tcase_add_test(tc, full_subset_and_round_trip);
	tcase_add_test(tc, defaults);
	tcase_add_loop_test(tc, rejected_case, 0, (int)(sizeof(rejected) / sizeof(rejected[0])));
	tcase_add_test(tc, error_names_line);
	tcase_add_test(tc, deep_nesting_refused);
	tcase_add_test(tc, entities_decoded);
	tcase_add_test(tc, mutated_documents_never_crash);
	tcase_add_test(tc, create_args);
	tcase_add_test(tc, overlap);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
