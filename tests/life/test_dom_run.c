/* vmm/life/dom_run, dom_config and the running verbs without a VM: run
 * records, status from fake run files (a held lock, a stale pid file after
 * kill -9, a crash record), Ids, the domdef -> vm_config mapping, and the
 * verbs' messages for a domain that does not run. */
#include "vmm/life/dom_cli.h"
#include "vmm/life/dom_config.h"
#include "vmm/life/dom_run.h"
#include "vmm/log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static struct net_state st;

static void setup(void)
{
	strcpy(dir, "/tmp/minivmm-runtestXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(dom_store_open(&st, dir, true), 0);
	net_state_close(&st); /* the verbs take the lock themselves */
	ck_assert(freopen("/dev/null", "w", stdout) != NULL);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *name, const char *suffix, const char *text)
{
	char p[PATH_MAX];
	ck_assert_int_eq(dom_run_path(&st, name, suffix, p, sizeof(p)), 0);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *name, const char *suffix)
{
	char p[PATH_MAX];
	dom_run_path(&st, name, suffix, p, sizeof(p));
	return access(p, F_OK) == 0;
}

START_TEST(records)
{
	struct dom_run_record r = {12, 345, DOM_PAUSED}, back;
	char text[96];
	ck_assert_int_eq(dom_run_format(&r, text, sizeof(text)), 0);
	ck_assert_str_eq(text, "id=12 pid=345 state=paused\n");
	ck_assert_int_eq(dom_run_parse(text, &back), 0);
	ck_assert(back.id == 12 && back.pid == 345 && back.state == DOM_PAUSED);
	ck_assert_int_eq(dom_run_parse("id=1 pid=2 state=crashed", &back), 0);
	ck_assert_int_eq(back.state, DOM_CRASHED);
	static const char *const bad[] = {"",
					  "id=1 pid=2",
					  "id=1 pid=2 state=shutoff\n",
					  "id=-1 pid=2 state=running\n",
					  "id=1 pid=0 state=running\n",
					  "id=1 pid=99999999999 state=running\n",
					  "id=1 pid=2 state=running trailing\n",
					  "id=1 pid=2 state=runningX\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(dom_run_parse(bad[i], &back) == -EINVAL, "accepted '%s'", bad[i]);
	ck_assert_int_eq(dom_run_format(&r, text, 8), -ENOSPC);
}
END_TEST

/* A child holding NAME's lock, as a VM process does, until killed (as by
 * kill -9); returns once the lock is held. */
static pid_t fork_lock_holder(const char *name)
{
	int pipefd[2];
	char c;
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t child = fork();
	if (child == 0) {
		int fd;
		if (dom_run_lock(&st, name, &fd) || write(pipefd[1], "L", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	close(pipefd[1]);
	return child;
}

START_TEST(status_from_run_files)
{
	struct dom_status s;
	/* never started */
	ck_assert_int_eq(dom_store_status(&st, "vm", &s), 0);
	ck_assert(s.state == DOM_SHUTOFF && s.id == -1);

	/* a live VM process: another process holds the lock */
	pid_t child = fork_lock_holder("vm");
	struct dom_run_record r = {4, child, DOM_RUNNING};
	ck_assert_int_eq(dom_run_write(&st, "vm", &r), 0);
	ck_assert_int_eq(dom_store_status(&st, "vm", &s), 0);
	ck_assert(s.state == DOM_RUNNING && s.id == 4 && s.pid == child);
	r.state = DOM_PAUSED;
	ck_assert_int_eq(dom_run_write(&st, "vm", &r), 0);
	ck_assert_int_eq(dom_store_status(&st, "vm", &s), 0);
	ck_assert_int_eq(s.state, DOM_PAUSED);
	/* a second VM process does not get the lock */
	int fd;
	ck_assert_int_eq(dom_run_lock(&st, "vm", &fd), -EBUSY);

	/* kill -9: the lock is gone with the process, its files stay behind */
	put("vm", ".pid", "1234\n");
	put("vm", ".sock", "");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ck_assert_int_eq(dom_store_status(&st, "vm", &s), 0);
	ck_assert(s.state == DOM_SHUTOFF && s.id == -1 && s.pid == 0);
	ck_assert(!exists("vm", ".pid") && !exists("vm", ".sock") && !exists("vm", ".state"));
	ck_assert_int_eq(dom_run_lock(&st, "vm", &fd), 0); /* start works again */
	close(fd);

	/* a VM process that recorded an internal error */
	put("vm", ".state", "id=9 pid=77 state=crashed\n");
	ck_assert_int_eq(dom_store_status(&st, "vm", &s), 0);
	ck_assert(s.state == DOM_CRASHED && s.id == -1);
	ck_assert(exists("vm", ".state")); /* shown until the next start */

	/* a damaged record without a VM process: shut off */
	put("vm", ".state", "garbage");
	ck_assert_int_eq(dom_store_status(&st, "vm", &s), 0);
	ck_assert_int_eq(s.state, DOM_SHUTOFF);
	ck_assert_int_eq(dom_store_status(&st, "../x", &s), -EINVAL);
}
END_TEST

START_TEST(ids_increase)
{
	ck_assert_int_eq(dom_run_next_id(&st), 1);
	ck_assert_int_eq(dom_run_next_id(&st), 2);
	put("last-id", "", "41\n");
	ck_assert_int_eq(dom_run_next_id(&st), 42);
	put("last-id", "", "junk");
	ck_assert_int_eq(dom_run_next_id(&st), 1);
}
END_TEST

static void from_xml(const char *xml, struct domdef *d)
{
	ck_assert_int_eq(domdef_from_xml(xml, strlen(xml), "t.xml", d), 0);
}

START_TEST(config_mapping)
{
	struct domdef d;
	struct dom_config *c = malloc(sizeof(*c));
	from_xml("<domain type='kvm'><name>vm</name><uuid>0e3a6a63-8bb4-4a5b-9d1c-3cc6f0a1b2c3</uuid>"
		 "<memory unit='MiB'>1000</memory><vcpu>2</vcpu><on_reboot>restart</on_reboot>"
		 "<os><type>hvm</type><kernel>/k</kernel><initrd>/i</initrd><cmdline>ro q</cmdline></os>"
		 "<devices><disk type='file'><driver name='qemu' type='qcow2'/><source file='/b.img'/>"
		 "<target dev='vdb' bus='virtio'/><readonly/></disk>"
		 "<disk type='file'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"
		 "<interface type='bridge'><source bridge='vbr'/><model type='virtio'/>"
		 "<mac address='52:54:00:aa:bb:cc'/></interface>"
		 "<interface type='network'><source network='default'/><model type='virtio'/>"
		 "<mac address='52:54:00:00:00:01'/></interface></devices></domain>",
		 &d);
	ck_assert_int_eq(dom_config_from_def(&d, c), 0);
	ck_assert_uint_eq(c->cfg.mem_size, 1000ULL << 20);
	ck_assert_uint_eq(c->cfg.ncpus, 2);
	ck_assert_str_eq(c->cfg.kernel, "/k");
	ck_assert_str_eq(c->cfg.initrd, "/i");
	ck_assert_str_eq(c->cfg.cmdline, "ro q");
	ck_assert_str_eq(c->cfg.uuid, "0e3a6a63-8bb4-4a5b-9d1c-3cc6f0a1b2c3");
	ck_assert_uint_eq(c->cfg.ndisks, 2);
	ck_assert_str_eq(c->cfg.disks[0], "/a.img,format=raw");
	ck_assert_str_eq(c->cfg.disks[1], "/b.img,readonly,format=qcow2");
	ck_assert_uint_eq(c->cfg.nnics, 2);
	ck_assert_int_eq(c->cfg.nics[0].kind, CLI_NIC_BRIDGE);
	ck_assert_str_eq(c->cfg.nics[0].spec, "vbr,mac=52:54:00:aa:bb:cc");
	ck_assert_int_eq(c->cfg.nics[1].kind, CLI_NIC_BRIDGE); /* --bridge takes a network */
	ck_assert_str_eq(c->cfg.nics[1].spec, "default,mac=52:54:00:00:00:01");
	ck_assert_str_eq(c->cfg.kvm_path, "/dev/kvm");
	ck_assert_ptr_null(c->cfg.hooks);
	domdef_free(&d);

	/* disk boot; a user NIC; metadata files copied over */
	from_xml("<domain type='kvm'><name>vm</name><memory>262144</memory>"
		 "<devices><disk type='file'><source file='/vmhost.img'/><target dev='vda'/></disk>"
		 "</devices></domain>",
		 &d);
	d.nics[0] = (struct dom_nic){.type = DOM_NIC_USER, .mac = {0x52, 0x54, 0, 1, 2, 3}};
	d.nnics = 1;
	d.hostname = "h";
	d.ssh_key_file = "/key.pub";
	d.user_data_file = "/ud";
	ck_assert_int_eq(dom_config_from_def(&d, c), 0);
	ck_assert_ptr_null(c->cfg.kernel);
	ck_assert_str_eq(c->cfg.disks[0], "/vmhost.img,format=raw");
	ck_assert_int_eq(c->cfg.nics[0].kind, CLI_NIC_USER);
	ck_assert_str_eq(c->cfg.nics[0].spec, "user,mac=52:54:00:01:02:03");
	ck_assert_str_eq(c->cfg.hostname, "h");
	ck_assert_str_eq(c->cfg.ssh_key_file, "/key.pub");
	ck_assert_str_eq(c->cfg.user_data_file, "/ud");
	d.hostname = d.ssh_key_file = d.user_data_file = NULL;
	/* no hostname given: the domain's name, when it is a host name */
	ck_assert_int_eq(dom_config_from_def(&d, c), 0);
	ck_assert_str_eq(c->cfg.hostname, "vm");
	strcpy(d.name, "lab_vm");
	ck_assert_int_eq(dom_config_from_def(&d, c), 0);
	ck_assert_ptr_null(c->cfg.hostname);
	d.nnics = 0;
	domdef_free(&d);

	/* refused: a comma in a file name, a gap in the targets */
	from_xml("<domain type='kvm'><name>vm</name><memory>262144</memory><devices>"
		 "<disk type='file'><source file='/a,b.img'/><target dev='vda'/></disk></devices>"
		 "</domain>",
		 &d);
	log_clear_last_error();
	ck_assert_int_eq(dom_config_from_def(&d, c), -EINVAL);
	ck_assert(strstr(log_last_error(), "'/a,b.img' has a comma"));
	domdef_free(&d);
	from_xml("<domain type='kvm'><name>vm</name><memory>262144</memory><devices>"
		 "<disk type='file'><source file='/a.img'/><target dev='vdc'/></disk></devices>"
		 "</domain>",
		 &d);
	ck_assert_int_eq(dom_config_from_def(&d, c), -EINVAL);
	ck_assert(strstr(log_last_error(), "no disk with target vda"));
	domdef_free(&d);
	free(c);
}
END_TEST

static int run(const char *verb, const char *name)
{
	char *argv[] = {(char *)verb, (char *)name, "--state-dir", dir, NULL};
	log_clear_last_error();
	return dom_main(name ? 4 : 3, name ? argv : (char *[]){(char *)verb, "--state-dir", dir, NULL});
}

START_TEST(verbs_on_a_stopped_vm)
{
	ck_assert_int_eq(run("destroy", "nope"), 1);
	ck_assert_str_eq(log_last_error(), "failed to get domain 'nope'");
	char *def[] = {"define", "--name", "vm", "--state-dir", dir, NULL};
	ck_assert_int_eq(dom_main(5, def), 0);
	static const char *const verbs[] = {"destroy", "suspend", "resume", "reboot", "shutdown"};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		ck_assert_int_eq(run(verbs[i], "vm"), 1);
		char want[128];
		snprintf(want, sizeof(want), "Failed to %s domain 'vm': Requested operation is not "
					     "valid: domain is not running", verbs[i]);
		ck_assert_str_eq(log_last_error(), want);
	}
	ck_assert_int_eq(run("console", "vm"), 1);
	ck_assert_str_eq(log_last_error(),
			 "Requested operation is not valid: domain 'vm' is not running");
	/* running per its lock and record, but no socket: a clear error */
	pid_t child = fork_lock_holder("vm");
	ck_assert_int_eq(run("suspend", "vm"), 1);
	ck_assert_str_eq(log_last_error(),
			 "Requested operation is not valid: domain 'vm' is not running");
	ck_assert_int_eq(run("start", "vm"), 1);
	ck_assert_str_eq(log_last_error(),
			 "Requested operation is not valid: domain 'vm' is already active");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	char *shut[] = {"shutdown", "vm", "--timeout", "x", "--state-dir", dir, NULL};
	ck_assert_int_eq(dom_main(6, shut), 1);
	ck_assert(strstr(log_last_error(), "--timeout"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dom_run");
	TCase *tc = tcase_create("run");
	log_set_quiet(true);
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, records);
	tcase_add_test(tc, status_from_run_files);
	tcase_add_test(tc, ids_increase);
	tcase_add_test(tc, config_mapping);
	tcase_add_test(tc, verbs_on_a_stopped_vm);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
