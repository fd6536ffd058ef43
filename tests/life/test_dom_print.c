/* vmm/life/dom_print: virsh's tables and dominfo, byte for byte against the
 * lab's printed output (seed/lab-notes.md) and docs/virsh-formats.md. */
#include "vmm/life/dom_print.h"
#include "vmm/log.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *out;
static size_t outlen;
static FILE *f;

static void open_out(void) { f = open_memstream(&out, &outlen); }
static const char *close_out(void)
{
	fclose(f);
	return out;
}
static void teardown(void) { free(out), out = NULL; }

/* The lab's vmhost, as dominfo/domblklist/domiflist printed it. */
static void lab_vmhost(struct domdef *d)
{
	static char src[] = "/var/lib/libvirt/images/vmhost.img";
	memset(d, 0, sizeof(*d));
	strcpy(d->name, "vmhost");
	strcpy(d->uuid, "7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6");
	d->memory_kib = d->current_kib = 1024000;
	d->vcpus = 2;
	d->ndisks = 1;
	strcpy(d->disks[0].target, "vda");
	d->disks[0].source = src;
	d->nnics = 1;
	d->nics[0].type = DOM_NIC_BRIDGE;
	strcpy(d->nics[0].source, "vbr");
	memcpy(d->nics[0].mac, "\x52\x54\x00\x46\x1c\x72", 6);
}

START_TEST(dominfo_as_lab)
{
	struct domdef d;
	struct dom_status s = {.state = DOM_SHUTOFF, .id = -1};
	lab_vmhost(&d);
	open_out();
	dom_print_dominfo(f, &d, &s, false);
	ck_assert_str_eq(close_out(), "Id:             -\n"
				      "Name:           vmhost\n"
				      "UUID:           7655b2af-d65e-4f6d-94eb-ead0ab4ba7e6\n"
				      "OS Type:        hvm\n"
				      "State:          shut off\n"
				      "CPU(s):         2\n"
				      "Max memory:     1024000 KiB\n"
				      "Used memory:    1024000 KiB\n"
				      "Persistent:     yes\n"
				      "Autostart:      disable\n"
				      "Managed save:   no\n"
				      "Security model: none\n"
				      "Security DOI:   0\n");
}
END_TEST

START_TEST(blk_and_if_lists_as_lab)
{
	struct domdef d;
	lab_vmhost(&d);
	open_out();
	ck_assert_int_eq(dom_print_blklist(f, &d, false, false), 0);
	ck_assert_str_eq(close_out(), " Target   Source\n"
				      "----------------------------------------------\n"
				      " vda      /var/lib/libvirt/images/vmhost.img\n");
	teardown();
	static const char *const tap[] = {"vnet0"};
	open_out();
	ck_assert_int_eq(dom_print_iflist(f, &d, tap, false), 0);
	ck_assert_str_eq(close_out(),
			 " Interface   Type     Source   Model    MAC\n"
			 "-----------------------------------------------------------\n"
			 " vnet0       bridge   vbr      virtio   52:54:00:46:1c:72\n");
	teardown();
	/* a user-mode NIC (--net user): type user, no source, as virsh */
	d.nics[1] = (struct dom_nic){.type = DOM_NIC_USER, .mac = {0x52, 0x54, 0, 0xaa, 0xbb, 0xcc}};
	d.nnics = 2;
	open_out();
	ck_assert_int_eq(dom_print_iflist(f, &d, NULL, false), 0);
	ck_assert_str_eq(close_out(),
			 " Interface   Type     Source   Model    MAC\n"
			 "-----------------------------------------------------------\n"
			 " -           bridge   vbr      virtio   52:54:00:46:1c:72\n"
			 " -           user     -        virtio   52:54:00:aa:bb:cc\n");
	teardown();
	d.nnics = 1;
	/* not running: no TAP, "-" */
	open_out();
	ck_assert_int_eq(dom_print_iflist(f, &d, NULL, false), 0);
	ck_assert_str_eq(close_out(),
			 " Interface   Type     Source   Model    MAC\n"
			 "-----------------------------------------------------------\n"
			 " -           bridge   vbr      virtio   52:54:00:46:1c:72\n");
	teardown();
	open_out();
	ck_assert_int_eq(dom_print_blklist(f, &d, true, false), 0);
	ck_assert_str_eq(close_out(),
			 " Type   Device   Target   Source\n"
			 "--------------------------------------------------------------\n"
			 " file   disk     vda      /var/lib/libvirt/images/vmhost.img\n");
	teardown();
	open_out();
	ck_assert_int_eq(dom_print_blklist(f, &d, false, true), 0);
	/* quiet: the header neither printed nor counted in the widths */
	ck_assert_str_eq(close_out(), " vda   /var/lib/libvirt/images/vmhost.img\n");
	teardown();
	/* an empty source is "-" */
	d.disks[0].source = NULL;
	open_out();
	ck_assert_int_eq(dom_print_blklist(f, &d, false, false), 0);
	ck_assert_str_eq(close_out(), " Target   Source\n"
				      "------------------\n"
				      " vda      -\n");
}
END_TEST

START_TEST(list_as_virsh)
{
	open_out();
	ck_assert_int_eq(dom_print_list(f, NULL, 0, false), 0);
	ck_assert_str_eq(close_out(), " Id   Name   State\n--------------------\n");
	teardown();
	/* virsh-formats.md's example rows (its dash count, 26, is one too many
	 * for its own rule: (2+3) + (6+3) + (8+3) = 25) */
	struct dom_list_row rows[] = {{"vmhost", {.state = DOM_RUNNING, .id = 1}}, {"other", {.state = DOM_SHUTOFF, .id = -1}}};
	open_out();
	ck_assert_int_eq(dom_print_list(f, rows, 2, false), 0);
	ck_assert_str_eq(close_out(), " Id   Name     State\n"
				      "-------------------------\n"
				      " 1    vmhost   running\n"
				      " -    other    shut off\n");
	teardown();
	struct dom_list_row more[] = {{"a", {.state = DOM_PAUSED, .id = 12}},	    {"b", {.state = DOM_CRASHED, .id = -1}},
				      {"c", {.state = DOM_PMSUSPENDED, .id = -1}}, {"d", {.state = DOM_SHUTDOWN, .id = 3}},
				      {"e", {.state = DOM_BLOCKED, .id = 4}},	    {"f", {.state = DOM_NOSTATE, .id = 5}}};
	open_out();
	ck_assert_int_eq(dom_print_list(f, more, 6, true), 0);
	ck_assert_str_eq(close_out(), " 12   a   paused\n"
				      " -    b   crashed\n"
				      " -    c   pmsuspended\n"
				      " 3    d   in shutdown\n"
				      " 4    e   idle\n"
				      " 5    f   no state\n");
}
END_TEST

/* The generic table against the lab's three net-list outputs. */
START_TEST(table_as_lab_net_list)
{
	static const char *const head[] = {"Name", "State", "Autostart", "Persistent"};
	static const char *const active[] = {"vbr", "active", "yes", "yes"};
	static const char *const inactive[] = {"vbr", "inactive", "yes", "yes"};
	struct vsh_table *t = vsh_table_new(4, head);
	ck_assert_int_eq(vsh_table_add(t, active), 0);
	open_out();
	vsh_table_print(t, f, false);
	ck_assert_str_eq(close_out(), " Name   State    Autostart   Persistent\n"
				      "-----------------------------------------\n"
				      " vbr    active   yes         yes\n");
	vsh_table_free(t);
	teardown();
	t = vsh_table_new(4, head);
	ck_assert_int_eq(vsh_table_add(t, inactive), 0);
	open_out();
	vsh_table_print(t, f, false);
	ck_assert_str_eq(close_out(), " Name   State      Autostart   Persistent\n"
				      "-------------------------------------------\n"
				      " vbr    inactive   yes         yes\n");
	vsh_table_free(t);
	teardown();
	t = vsh_table_new(4, head);
	open_out();
	vsh_table_print(t, f, false);
	ck_assert_str_eq(close_out(), " Name   State   Autostart   Persistent\n"
				      "----------------------------------------\n");
	vsh_table_free(t);
	ck_assert_ptr_null(vsh_table_new(0, head));
	ck_assert_ptr_null(vsh_table_new(9, head));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dom_print");
	TCase *tc = tcase_create("virsh");
	log_set_quiet(true);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, dominfo_as_lab);
	tcase_add_test(tc, blk_and_if_lists_as_lab);
	tcase_add_test(tc, list_as_virsh);
	tcase_add_test(tc, table_as_lab_net_list);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
