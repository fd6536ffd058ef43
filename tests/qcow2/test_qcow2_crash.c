/* Crash test: a child writes through the engine and is killed with SIGKILL
 * at a random point; `qemu-img check` must then find no corruption (leaks
 * are allowed), and every write acknowledged before the last completed
 * flush must be intact. */
#include "oracle_helpers.h"
#include "qcow2/qcow2.h"
#include "vmm/log.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define CSIZE (8u << 20)
#define MAX_OPS 400

static char dir[4096];

static void setup(void)
{
	log_set_quiet(true);
	th_mkdir(dir, sizeof(dir));
}

static void teardown(void) { th_rmdir(dir); }

struct op {
	uint64_t off, len;
	int kind; /* 0 write, 1 zeroes, 2 discard */
	uint8_t pat;
};

static void gen_ops(uint64_t seed, struct op *ops, uint64_t maxlen)
{
	for (int i = 0; i < MAX_OPS; i++) {
		ops[i].off = th_rand(&seed) % CSIZE;
		ops[i].len = 1 + th_rand(&seed) % maxlen;
		if (ops[i].len > CSIZE - ops[i].off)
			ops[i].len = CSIZE - ops[i].off;
		unsigned k = (unsigned)(th_rand(&seed) % 10);
		ops[i].kind = k < 8 ? 0 : k == 8 ? 1 : 2;
		ops[i].pat = (uint8_t)(i % 251 + 1);
	}
}

/* Child: run the ops, report each completed flush through the pipe. */
static void writer(const char *img, const struct op *ops, int wfd)
{
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = QCOW2_O_RDWR, .l2_cache_bytes = 4096};
	static uint8_t buf[1u << 20];
	if (qcow2_open(img, &o, &q))
		_exit(2);
	for (int i = 0; i < MAX_OPS; i++) {
		int ret;
		memset(buf, ops[i].pat, ops[i].len);
		if (ops[i].kind == 0)
			ret = qcow2_write(q, ops[i].off, buf, ops[i].len);
		else if (ops[i].kind == 1)
			ret = qcow2_write_zeroes(q, ops[i].off, ops[i].len, 0);
		else
			ret = qcow2_discard(q, ops[i].off, ops[i].len);
		if (ret)
			_exit(3);
		if (i % 5 == 4) {
			if (qcow2_flush(q))
				_exit(4);
			int done = i + 1;
			if (write(wfd, &done, sizeof(done)) != sizeof(done))
				_exit(5);
		}
	}
	qcow2_close(q);
	_exit(0);
}

struct ccfg {
	const char *base; /* convert options for a compressed base, or NULL */
	const char *create;
	uint64_t maxlen;
};

static const struct ccfg ccfgs[] = {
    {"-c -o compression_type=zlib", "-o cluster_size=4096", 20000},
    {NULL, "-o cluster_size=512,refcount_bits=64", 40000},
    {NULL, "-o extended_l2=on", 100000},
};

START_TEST(kill_writer_then_check)
{
	const struct ccfg *c = &ccfgs[_i % 3];
	char img[4200], base_raw[4200], out[8192];
	static struct op ops[MAX_OPS];
	uint64_t seed = 0xc0ffee00ull + (uint64_t)_i * 104729 + (uint64_t)time(NULL) % 977;
	th_path(img, sizeof(img), dir, "c.qcow2");
	th_path(base_raw, sizeof(base_raw), dir, "base.raw");
	printf("crash %d (%s) seed 0x%llx\n", _i, c->create, (unsigned long long)seed);
	gen_ops(seed, ops, c->maxlen);

	/* Expected contents start as the base (or zeros). */
	uint8_t *model = calloc(1, CSIZE), *unknown = calloc(1, CSIZE);
	if (c->base) {
		ck_assert_int_eq(sh("cd '%s' && qemu-img create -q -f raw base.raw %u && "
				    "qemu-io -f raw -c 'write -P 0x99 0 3M' -c 'write -P 0x98 5M "
				    "1M' base.raw >/dev/null && "
				    "qemu-img convert -O qcow2 %s base.raw base.qcow2 && "
				    "qemu-img create -q -f qcow2 %s -F qcow2 -b base.qcow2 c.qcow2",
				    dir, CSIZE, c->base, c->create),
				 0);
		memset(model, 0x99, 3u << 20);
		memset(model + (5u << 20), 0x98, 1u << 20);
	} else {
		ck_assert_int_eq(
		    sh("qemu-img create -q -f qcow2 %s '%s' %u", c->create, img, CSIZE), 0);
	}

	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		writer(img, ops, p[1]);
	}
	close(p[1]);
	struct timespec ts = {0, (long)(th_rand(&seed) % 60 + 5) * 1000000L};
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	ck_assert_msg(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
		      "writer failed on its own (status 0x%x)", st);
	int done = 0, v;
	while (read(p[0], &v, sizeof(v)) == sizeof(v))
		done = v;
	close(p[0]);

	/* Check first: nothing has opened the image writable since the crash. */
	int rc = sh_out(out, sizeof(out), "qemu-img check '%s' 2>&1", img);
	printf("crash %d: killed=%d after %d flushed ops, qemu-img check exit %d\n", _i,
	       WIFSIGNALED(st), done, rc);
	ck_assert_msg(rc == 0 || rc == 3,
		      "qemu-img check exit %d after crash (seed 0x%llx, %d ops flushed): %s", rc,
		      (unsigned long long)seed, done, out);

	for (int i = 0; i < MAX_OPS; i++) {
		uint8_t *dst = i < done ? model : unknown;
		memset(dst + ops[i].off, i < done ? (ops[i].kind ? 0 : ops[i].pat) : 1, ops[i].len);
	}
	struct qcow2 *q;
	uint8_t *got = malloc(CSIZE);
	ck_assert_int_eq(qcow2_open(img, NULL, &q), 0);
	ck_assert_int_eq(qcow2_read(q, 0, got, CSIZE), 0);
	qcow2_close(q);
	for (uint64_t i = 0; i < CSIZE; i++)
		th_check(
		    unknown[i] || got[i] == model[i],
		    "flushed byte 0x%llx is 0x%02x, expected 0x%02x (seed 0x%llx, %d ops flushed)",
		    (unsigned long long)i, got[i], model[i], (unsigned long long)seed, done);
	free(got);
	free(model);
	free(unknown);
}
END_TEST

Suite *qcow2_crash_suite(void);
Suite *qcow2_crash_suite(void)
{
	Suite *s = suite_create("qcow2-crash");
	TCase *t = tcase_create("crash");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, kill_writer_then_check, 0, 24);
	suite_add_tcase(s, t);
	return s;
}
