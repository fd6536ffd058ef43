/* The metadata service's data: the EC2 and NoCloud trees, per-VM records
 * on disk (round trip, replacement, hostile files), and matching requests
 * to VMs through the lease table. */
#include "net/dhcp_lease.h"
#include "net/mdata_match.h"
#include "net/mdata_record.h"
#include "net/mdata_tree.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UUID_A "0a1b2c3d-0000-8000-8000-000000000001"
#define KEYS "# comment\n\nssh-ed25519 AAAAC3Nza first@host\r\nssh-rsa AAAAB3 \"quoted\\\" x\n"

static struct mdata_reply rep;

static struct mdata_vm vm_a(void)
{
	struct mdata_vm vm = { .instance_id = UUID_A, .hostname = "web1",
			       .local_ipv4 = "192.168.100.130", .ssh_keys = KEYS,
			       .ssh_keys_len = strlen(KEYS), .user_data = "#!/bin/sh\necho hi\n",
			       .user_data_len = 18 };
	return vm;
}

/* GET path gives status and exactly body. */
static void expect(const struct mdata_vm *vm, const char *path, int status, const char *body)
{
	mdata_tree_get(vm, path, &rep);
	ck_assert_msg(rep.status == status, "%s: status %d, want %d", path, rep.status, status);
	if (body) {
		ck_assert_msg(rep.body_len == strlen(body) && !memcmp(rep.body, body, rep.body_len),
			      "%s: body '%.*s', want '%s'", path, (int)rep.body_len, rep.body, body);
		ck_assert_ptr_nonnull(rep.content_type);
	}
}

START_TEST(ec2_tree)
{
	struct mdata_vm vm = vm_a();
	expect(&vm, "/", 200, "2009-04-04\nlatest");
	const char *versions[] = { "/2009-04-04", "/latest" };
	for (int v = 0; v < 2; v++) {
		char p[128];
#define AT(rest) (snprintf(p, sizeof(p), "%s%s", versions[v], rest), p)
		expect(&vm, AT(""), 200, "meta-data/\nuser-data");
		expect(&vm, AT("/"), 200, "meta-data/\nuser-data");
		expect(&vm, AT("/meta-data/"), 200,
		       "hostname\ninstance-id\nlocal-hostname\nlocal-ipv4\npublic-keys/");
		expect(&vm, AT("/meta-data"), 200,
		       "hostname\ninstance-id\nlocal-hostname\nlocal-ipv4\npublic-keys/");
		expect(&vm, AT("/meta-data/instance-id"), 200, "i-" UUID_A);	/* EC2's form */
		expect(&vm, AT("/meta-data/hostname"), 200, "web1");
		expect(&vm, AT("/meta-data/local-hostname"), 200, "web1");
		expect(&vm, AT("/meta-data/local-ipv4"), 200, "192.168.100.130");
		expect(&vm, AT("/meta-data/public-keys"), 200, "0=minivmm-0\n1=minivmm-1");
		expect(&vm, AT("/meta-data/public-keys/"), 200, "0=minivmm-0\n1=minivmm-1");
		expect(&vm, AT("/meta-data/public-keys/0"), 200, "openssh-key");
		expect(&vm, AT("/meta-data/public-keys/1/"), 200, "openssh-key");
		expect(&vm, AT("/meta-data/public-keys/0/openssh-key"), 200,
		       "ssh-ed25519 AAAAC3Nza first@host\n");
		expect(&vm, AT("/meta-data/public-keys/1/openssh-key"), 200,
		       "ssh-rsa AAAAB3 \"quoted\\\" x\n");
		expect(&vm, AT("/meta-data/public-keys/2/openssh-key"), 404, NULL);
		expect(&vm, AT("/meta-data/public-keys/01/openssh-key"), 404, NULL);
		expect(&vm, AT("/meta-data/public-keys/0x"), 404, NULL);
		expect(&vm, AT("/meta-data/public-keys/99999999999999999999"), 404, NULL);
		expect(&vm, AT("/meta-data/public-keys/0/openssh-key/"), 404, NULL);
		expect(&vm, AT("/meta-data/ami-id"), 404, NULL);
		expect(&vm, AT("/meta-data/instance-id/"), 404, NULL);
		expect(&vm, AT("/user-data"), 200, "#!/bin/sh\necho hi\n");
		ck_assert_str_eq(rep.content_type, "application/octet-stream");
#undef AT
	}
	expect(&vm, "/latestx/meta-data/", 404, NULL);
	expect(&vm, "/2009-04-04x", 404, NULL);
	expect(&vm, "/etc/passwd", 404, NULL);
	expect(&vm, "//latest/", 404, NULL);
}
END_TEST

START_TEST(ec2_tree_without_optional_data)
{
	struct mdata_vm vm = { .instance_id = UUID_A, .hostname = "web1" };
	expect(&vm, "/latest/", 200, "meta-data/");
	expect(&vm, "/latest/meta-data/", 200, "hostname\ninstance-id\nlocal-hostname");
	expect(&vm, "/latest/user-data", 404, NULL);
	expect(&vm, "/latest/meta-data/local-ipv4", 404, NULL);
	expect(&vm, "/latest/meta-data/public-keys/", 404, NULL);
	expect(&vm, "/latest/meta-data/public-keys/0/openssh-key", 404, NULL);
	/* key text of nothing but comments, blanks and control bytes: no keys */
	vm.ssh_keys = "#x\n\n\x01key\n";
	vm.ssh_keys_len = strlen(vm.ssh_keys);
	expect(&vm, "/latest/meta-data/public-keys/", 404, NULL);
}
END_TEST

START_TEST(nocloud_tree)
{
	struct mdata_vm vm = vm_a();
	expect(&vm, "/nocloud/", 200, "meta-data\nuser-data\nvendor-data");
	expect(&vm, "/nocloud", 200, "meta-data\nuser-data\nvendor-data");
	expect(&vm, "/nocloud/meta-data", 200,
	       "instance-id: \"" UUID_A "\"\nlocal-hostname: \"web1\"\npublic-keys:\n"
	       "  - \"ssh-ed25519 AAAAC3Nza first@host\"\n"
	       "  - \"ssh-rsa AAAAB3 \\\"quoted\\\\\\\" x\"\n");
	expect(&vm, "/nocloud/user-data", 200, "#!/bin/sh\necho hi\n");
	expect(&vm, "/nocloud/vendor-data", 200, "");
	expect(&vm, "/nocloud/network-config", 404, NULL);
	expect(&vm, "/nocloud/meta-data/", 404, NULL);

	struct mdata_vm bare = { .instance_id = "i-1", .hostname = "h",
				 .vendor_data = "#cloud-config\n", .vendor_data_len = 14 };
	expect(&bare, "/nocloud/meta-data", 200, "instance-id: \"i-1\"\nlocal-hostname: \"h\"\n");
	expect(&bare, "/latest/meta-data/instance-id", 200, "i-1");	/* no second i- */
	expect(&bare, "/nocloud/user-data", 200, "");
	expect(&bare, "/nocloud/vendor-data", 200, "#cloud-config\n");
}
END_TEST

/* The largest key text allowed fits the generated bodies even when every
 * byte needs escaping. */
START_TEST(largest_keys_fit)
{
	static char keys[MDATA_KEYS_BYTES];
	memset(keys, '"', sizeof(keys));
	for (size_t i = 1000; i < sizeof(keys); i += 1000)
		keys[i] = '\n';
	struct mdata_vm vm = { .instance_id = UUID_A, .hostname = "h", .ssh_keys = keys,
			       .ssh_keys_len = sizeof(keys) };
	expect(&vm, "/nocloud/meta-data", 200, NULL);
	ck_assert_uint_gt(rep.body_len, MDATA_KEYS_BYTES);
	expect(&vm, "/latest/meta-data/public-keys/15/openssh-key", 200, NULL);
	expect(&vm, "/latest/meta-data/public-keys/16/openssh-key", 404, NULL);	/* 16 max */
}
END_TEST

static char dir[64];
static const uint8_t mac_a[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0b };

static void setup_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mvmdata-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	strcat(dir, "/run/mdata/vbr");	/* not there yet: made by the first record */
}

static void teardown_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(dir) - strlen("/run/mdata/vbr")),
		 dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put_file(const char *rel, const char *data, size_t len)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

START_TEST(record_round_trip_and_replace)
{
	struct mdata_record rec;
	struct mdata_input in = { .instance_id = UUID_A, .hostname = "web1.lab", .ssh_keys = KEYS,
				  .ssh_keys_len = strlen(KEYS), .user_data = "ud\0bin", .user_data_len = 6 };
	char d[128];
	ck_assert_int_eq(mdata_record_dir("/var/lib/minivmm", "vbr", d, sizeof(d)), 0);
	ck_assert_str_eq(d, "/var/lib/minivmm/run/mdata/vbr");

	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), -ENOENT);
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), 0);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), 0);
	ck_assert_str_eq(rec.vm.instance_id, UUID_A);
	ck_assert_str_eq(rec.vm.hostname, "web1.lab");
	ck_assert_uint_eq(rec.vm.ssh_keys_len, strlen(KEYS));
	ck_assert_mem_eq(rec.vm.ssh_keys, KEYS, strlen(KEYS));
	ck_assert_uint_eq(rec.vm.user_data_len, 6);
	ck_assert_mem_eq(rec.vm.user_data, "ud\0bin", 6);
	ck_assert_ptr_null(rec.vm.vendor_data);
	ck_assert_str_eq(rec.vm.local_ipv4, "");
	mdata_record_free(&rec);

	/* a new run of the VM replaces the record whole */
	struct mdata_input again = { .instance_id = "i-2" };
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &again), 0);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), 0);
	ck_assert_str_eq(rec.vm.instance_id, "i-2");
	ck_assert_str_eq(rec.vm.hostname, "minivmm-i-2");	/* the default */
	ck_assert_ptr_null(rec.vm.ssh_keys);
	ck_assert_ptr_null(rec.vm.user_data);
	mdata_record_free(&rec);
	/* nothing left over beside it */
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", dir);
	ck_assert_int_eq(system(cmd), 0);

	ck_assert_int_eq(mdata_record_remove(dir, mac_a), 0);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), -ENOENT);
	ck_assert_int_eq(mdata_record_remove(dir, mac_a), 0);
}
END_TEST

START_TEST(record_input_checked)
{
	static char big[MDATA_DATA_MAX + 1];
	struct mdata_input in = { .instance_id = "../x" };
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), -EINVAL);
	in.instance_id = "";
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), -EINVAL);
	in.instance_id = NULL;
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), -EINVAL);
	in.instance_id = "i-1";
	in.hostname = "bad host";
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), -EINVAL);
	in.hostname = "0123456789012345678901234567890123456789012345678901234567890123";
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), -EINVAL);
	static const char *const bad_labels[] = { "a..b", ".a", "a.", "-a", "a-", "a.-b", "a-.b" };
	for (unsigned i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
		in.hostname = bad_labels[i];
		ck_assert_msg(mdata_record_write(dir, mac_a, &in) == -EINVAL, "took '%s'",
			      bad_labels[i]);
	}
	in.hostname = "a-b.c-d.e";
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), 0);
	in.hostname = NULL;
	in.user_data = big;
	in.user_data_len = sizeof(big);
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), -EFBIG);
	in.user_data_len = MDATA_DATA_MAX;
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), 0);
}
END_TEST

/* Records changed behind the writer's back: refused, never followed. */
START_TEST(record_hostile_files)
{
	struct mdata_record rec;
	struct mdata_input in = { .instance_id = "i-1" };
	char p[256], m[18];
	dhcp_mac_format(mac_a, m);
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), 0);

	snprintf(p, sizeof(p), "%s/%s/user-data", dir, m);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), -EPERM);
	unlink(p);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), -EPERM);
	unlink(p);
	static char big[MDATA_DATA_MAX + 1];
	snprintf(p, sizeof(p), "%s/user-data", m);
	put_file(p, big, sizeof(big));
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), -EPERM);
	put_file(p, big, 10);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), 0);
	mdata_record_free(&rec);

	snprintf(p, sizeof(p), "%s/instance-id", m);
	put_file(p, "i-1\nsecond line\n", 16);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), -EINVAL);
	snprintf(p, sizeof(p), "%s/%s/instance-id", dir, m);
	unlink(p);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), -EINVAL);

	/* the record directory itself a symlink to another VM's */
	char target[256];
	ck_assert_int_eq(mdata_record_write(dir, mac_b, &in), 0);
	dhcp_mac_format(mac_b, m);
	snprintf(target, sizeof(target), "%s/%s", dir, m);
	dhcp_mac_format(mac_a, m);
	snprintf(p, sizeof(p), "%s/%s", dir, m);
	ck_assert_int_eq(mdata_record_remove(dir, mac_a), 0);
	ck_assert_int_eq(symlink(target, p), 0);
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), -EPERM);
	ck_assert_int_eq(mdata_record_read(dir, mac_b, &rec), 0);
	mdata_record_free(&rec);
}
END_TEST


/* What the VM process calls: the user's files read (symlinks followed,
 * bounded), errors naming the flag and file. */
START_TEST(record_publish_from_files)
{
	char keys[128], keylink[128], ud[128], big[128], p[160];
	snprintf(p, sizeof(p), "mkdir -p '%s'", dir);	/* so dir/../.. resolves */
	ck_assert_int_eq(system(p), 0);
	snprintf(keys, sizeof(keys), "%s/../../keys.pub", dir);
	snprintf(keylink, sizeof(keylink), "%s/../../link.pub", dir);
	snprintf(ud, sizeof(ud), "%s/../../ud.yaml", dir);
	snprintf(big, sizeof(big), "%s/../../big", dir);
	put_file("../../keys.pub", "ssh-ed25519 AAAA k@h\n", 21);
	ck_assert_int_eq(symlink(keys, keylink), 0);
	put_file("../../ud.yaml", "#cloud-config\n", 14);
	static char blob[MDATA_DATA_MAX + 1];
	put_file("../../big", blob, sizeof(blob));

	struct mdata_files f = { .instance_id = UUID_A, .hostname = "h1", .ssh_key_path = keylink,
				 .user_data_path = ud };
	ck_assert_int_eq(mdata_record_publish(dir, mac_a, &f), 0);
	struct mdata_record rec;
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), 0);
	ck_assert_uint_eq(rec.vm.ssh_keys_len, 21);
	ck_assert_mem_eq(rec.vm.ssh_keys, "ssh-ed25519 AAAA k@h\n", 21);
	ck_assert_uint_eq(rec.vm.user_data_len, 14);
	ck_assert_ptr_null(rec.vm.vendor_data);
	mdata_record_free(&rec);

	f.user_data_path = big;
	ck_assert_int_eq(mdata_record_publish(dir, mac_a, &f), -EFBIG);
	snprintf(p, sizeof(p), "--user-data %s: larger than", big);
	ck_assert_ptr_nonnull(strstr(log_last_error(), p));
	f.user_data_path = "/nonexistent/ud";
	ck_assert_int_eq(mdata_record_publish(dir, mac_a, &f), -ENOENT);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "--user-data /nonexistent/ud"));
	f.user_data_path = NULL;
	f.ssh_key_path = "/tmp";
	ck_assert_int_eq(mdata_record_publish(dir, mac_a, &f), -EPERM);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "--ssh-key /tmp: not a regular file"));
	/* a VM that dies without removing its record: the owner lock goes
	 * with its descriptors, and the record is no longer served */
	int owner = -1;
	struct mdata_files fo = { .instance_id = UUID_A, .owner_fd = &owner };
	ck_assert_int_eq(mdata_record_publish(dir, mac_b, &fo), 0);
	ck_assert_int_ge(owner, 0);
	ck_assert_int_eq(mdata_record_read(dir, mac_b, &rec), 0);	/* held: served */
	mdata_record_free(&rec);
	close(owner);
	ck_assert_int_eq(mdata_record_read(dir, mac_b, &rec), -ENOENT);
	ck_assert_int_eq(mdata_record_publish(dir, mac_b, &fo), 0);	/* the next VM's replaces it */
	ck_assert_int_eq(mdata_record_read(dir, mac_b, &rec), 0);
	mdata_record_free(&rec);
	/* while that VM runs, another with the same MAC does not take it over */
	int other = -1;
	struct mdata_files fb = { .instance_id = "0a1b2c3d-0000-8000-8000-000000000002",
				  .owner_fd = &other };
	ck_assert_int_eq(mdata_record_publish(dir, mac_b, &fb), -EBUSY);
	ck_assert_int_eq(other, -1);
	ck_assert_ptr_nonnull(strstr(log_last_error(), "already used by a running VM"));
	ck_assert_int_eq(mdata_record_read(dir, mac_b, &rec), 0);
	ck_assert_str_eq(rec.vm.instance_id, UUID_A);
	mdata_record_free(&rec);
	close(owner);
	/* the failed publishes left the earlier record as it was */
	ck_assert_int_eq(mdata_record_read(dir, mac_a, &rec), 0);
	ck_assert_uint_eq(rec.vm.user_data_len, 14);
	mdata_record_free(&rec);
}
END_TEST

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

/* `minivmm net stop`/undefine: the network's directory goes whole, with
 * the records of VMs that never removed theirs (SIGKILL) and strays. */
START_TEST(record_dir_removed_whole)
{
	struct mdata_input in = { .instance_id = "i-1", .user_data = "x", .user_data_len = 1 };
	struct stat st;
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &in), 0);
	ck_assert_int_eq(mdata_record_write(dir, mac_b, &in), 0);
	put_file("stray", "y", 1);
	ck_assert_int_eq(mdata_record_dir_remove(dir), 0);
	ck_assert_int_eq(stat(dir, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(mdata_record_dir_remove(dir), 0);	/* already gone */
	/* the parent survives: the state directory is not ours */
	char parent[sizeof(dir)];
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = 0;
	ck_assert_int_eq(stat(parent, &st), 0);
}
END_TEST

START_TEST(matching_by_lease)
{
	struct dhcp_pool pool = { .start = IP(192, 168, 100, 128), .end = IP(192, 168, 100, 200),
				  .server_ip = IP(192, 168, 100, 254) };
	struct dhcp_leases *l;
	time_t now = 1000000;
	uint32_t ip_a, ip_b, ip_c;
	const uint8_t mac_c[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0c };
	uint8_t mac[6];

	ck_assert_int_eq(dhcp_leases_open(&l, &pool, NULL, now), 0);
	ck_assert_int_eq(dhcp_lease_offer(l, mac_a, 0, now, &ip_a), 0);
	ck_assert_int_eq(dhcp_lease_bind(l, mac_a, ip_a, 3600, NULL, now), 0);
	ck_assert_int_eq(dhcp_lease_offer(l, mac_b, 0, now, &ip_b), 0);
	ck_assert_int_eq(dhcp_lease_bind(l, mac_b, ip_b, 60, NULL, now), 0);
	ck_assert_int_eq(dhcp_lease_offer(l, mac_c, 0, now, &ip_c), 0);	/* offered only */

	ck_assert_int_eq(mdata_match(l, ip_a, now, mac), 0);
	ck_assert_mem_eq(mac, mac_a, 6);
	ck_assert_int_eq(mdata_match(l, ip_b, now, mac), 0);
	ck_assert_mem_eq(mac, mac_b, 6);
	ck_assert_int_eq(mdata_match(l, ip_c, now, mac), -ENOENT);
	ck_assert_int_eq(mdata_match(l, IP(192, 168, 100, 199), now, mac), -ENOENT);
	ck_assert_int_eq(mdata_match(l, IP(10, 0, 0, 1), now, mac), -ENOENT);
	ck_assert_int_eq(mdata_match(l, 0, now, mac), -ENOENT);
	ck_assert_int_eq(mdata_match(l, ip_b, now + 61, mac), -ENOENT);	/* expired */

	/* each VM gets its own record; no lease or no record: 404 */
	struct mdata_input a = { .instance_id = "vm-a", .hostname = "a" };
	struct mdata_input b = { .instance_id = "vm-b", .hostname = "b" };
	ck_assert_int_eq(mdata_record_write(dir, mac_a, &a), 0);
	ck_assert_int_eq(mdata_record_write(dir, mac_b, &b), 0);
	struct mdata_record rec;
	mdata_answer(l, dir, ip_a, mac_a, now, "/latest/meta-data/instance-id", &rec, &rep);
	ck_assert_int_eq(rep.status, 200);
	ck_assert_uint_eq(rep.body_len, 6);
	ck_assert_mem_eq(rep.body, "i-vm-a", 6);
	mdata_record_free(&rec);
	mdata_answer(l, dir, ip_b, NULL, now, "/latest/meta-data/hostname", &rec, &rep);
	ck_assert_int_eq(rep.status, 200);
	ck_assert_mem_eq(rep.body, "b", 1);
	mdata_record_free(&rec);
	mdata_answer(l, dir, ip_a, mac_a, now, "/latest/meta-data/local-ipv4", &rec, &rep);
	ck_assert_int_eq(rep.status, 200);
	char want[16];
	snprintf(want, sizeof(want), "192.168.100.%u", ip_a & 0xff);
	ck_assert_uint_eq(rep.body_len, strlen(want));
	ck_assert_mem_eq(rep.body, want, strlen(want));
	mdata_record_free(&rec);
	/* guest B answering ARP for A's address: A's data is not B's */
	mdata_answer(l, dir, ip_a, mac_b, now, "/latest/meta-data/instance-id", &rec, &rep);
	ck_assert_int_eq(rep.status, 404);
	mdata_record_free(&rec);
	mdata_answer(l, dir, ip_c, mac_c, now, "/latest/meta-data/instance-id", &rec, &rep);
	ck_assert_int_eq(rep.status, 404);
	mdata_record_free(&rec);
	mdata_answer(l, dir, IP(10, 0, 0, 1), NULL, now, "/latest/meta-data/instance-id", &rec, &rep);
	ck_assert_int_eq(rep.status, 404);
	mdata_record_free(&rec);
	ck_assert_int_eq(mdata_record_remove(dir, mac_b), 0);
	mdata_answer(l, dir, ip_b, NULL, now, "/latest/meta-data/instance-id", &rec, &rep);
	ck_assert_int_eq(rep.status, 404);
	mdata_record_free(&rec);
	dhcp_leases_close(l);
}
END_TEST

int main(void)
{
	log_set_quiet(true);
	Suite *s = suite_create("mdata");
	TCase *tree = tcase_create("tree");
	tcase_add_test(tree, ec2_tree);
	tcase_add_test(tree, ec2_tree_without_optional_data);
	tcase_add_test(tree, nocloud_tree);
	tcase_add_test(tree, largest_keys_fit);
	suite_add_tcase(s, tree);
	TCase *files = tcase_create("records");
	tcase_add_checked_fixture(files, setup_dir, teardown_dir);
	tcase_add_test(files, record_round_trip_and_replace);
	tcase_add_test(files, record_input_checked);
	tcase_add_test(files, record_hostile_files);
	tcase_add_test(files, record_publish_from_files);
	tcase_add_test(files, matching_by_lease);
	tcase_add_test(files, record_dir_removed_whole);
	suite_add_tcase(s, files);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
