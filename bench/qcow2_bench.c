/* qcow2 benchmark: our engine vs QEMU on a qcow2 overlay over a
 * zlib-compressed base (the lab's layout). Prints times and ratios; asserts
 * nothing.
 *
 *   random 4 KiB reads   ours vs `qemu-io -r -t none` fed the same offsets
 *   random 4 KiB writes  ours vs `qemu-io -t none` fed the same offsets
 *   sequential 4 KiB and 1 MiB reads  ours vs `qemu-img bench -t none`
 * All at queue depth 1 (our engine's calls are synchronous; qemu-io runs one
 * command at a time; qemu-img bench is given -d 1). Usage:
 *   qcow2_bench [MiB of base image, default 128] [count, default 20000] */
#include "qcow2/qcow2.h"
#include "vmm/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[1024];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *cmd)
{
	int st = system(cmd);
	return st == 0 ? 0 : -1;
}

static double timed(const char *cmd)
{
	double t = now();
	if (run(cmd)) {
		fprintf(stderr, "qcow2_bench: failed: %s\n", cmd);
		return -1;
	}
	return now() - t;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Text-like, compressible bytes (like a root file system): random words. */
static int make_source(const char *path, uint64_t size)
{
	static const char *const words[] = {
	    "kernel", "module", "usr",	 "lib",	    "bin", "etc", "the", "config", "0x1f", "data",
	    "init",   "root",	"shell", "busybox", "=",   "\n",  "ELF", "{",	   "}"};
	uint64_t seed = 0x7e57ull, fill = size / 10 * 9;
	char *buf = malloc(1 << 20);
	FILE *f = fopen(path, "wb");
	if (!f || !buf)
		return -1;
	for (uint64_t done = 0; done < fill;) {
		size_t n = 0;
		while (n < (1u << 20) - 64) {
			const char *w = words[rnd(&seed) % (sizeof(words) / sizeof(words[0]))];
			n += (size_t)snprintf(buf + n, 64, "%s %u ", w,
					      (unsigned)(rnd(&seed) % 1000));
		}
		n = (1u << 20);
		if (fwrite(buf, 1, n, f) != n)
			return -1;
		done += n;
	}
	fclose(f);
	free(buf);
	return truncate(path, (off_t)size);
}

static int make_images(unsigned mib)
{
	char cmd[8192], src[1200];
	snprintf(src, sizeof(src), "%s/src.raw", dir);
	if (make_source(src, (uint64_t)mib << 20))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && qemu-img convert -c -O qcow2 -o compression_type=zlib src.raw "
		 "base.qcow2 && "
		 "qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 ov.qcow2 && rm -f src.raw",
		 dir);
	return run(cmd);
}

static int write_script(const char *name, const uint64_t *offs, int n, bool write)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	for (int i = 0; i < n; i++)
		if (write)
			fprintf(f, "write -P 0x%02x %llu 4096\n", (i % 255) + 1,
				(unsigned long long)offs[i]);
		else
			fprintf(f, "read %llu 4096\n", (unsigned long long)offs[i]);
	fclose(f);
	return 0;
}

/* Our engine: N reads or writes of LEN at OFFS (sequential if OFFS NULL). */
static double ours(const char *img, bool write, const uint64_t *offs, int n, size_t len,
		   uint64_t size)
{
	char path[4200];
	struct qcow2 *q;
	struct qcow2_open_opts o = {.flags = write ? QCOW2_O_RDWR : 0};
	uint8_t *buf = malloc(len);
	snprintf(path, sizeof(path), "%s/%s", dir, img);
	if (qcow2_open(path, &o, &q))
		return -1;
	double t = now();
	for (int i = 0; i < n; i++) {
		uint64_t off = offs ? offs[i] : ((uint64_t)i * len) % size;
		int ret;
		if (write) {
			memset(buf, (i % 255) + 1, len);
			ret = qcow2_write(q, off, buf, len);
		} else {
			ret = qcow2_read(q, off, buf, len);
		}
		if (ret)
			return -1;
	}
	if (write && qcow2_flush(q))
		return -1;
	t = now() - t;
	qcow2_close(q);
	free(buf);
	return t;
}

static void row(const char *what, double us, double qemu)
{
	printf("%-34s ours %8.3f s   qemu %8.3f s   ratio %6.2fx\n", what, us, qemu,
	       us > 0 && qemu > 0 ? qemu / us : 0.0);
}

int main(int argc, char **argv)
{
	unsigned mib = argc > 1 ? (unsigned)atoi(argv[1]) : 128;
	int n = argc > 2 ? atoi(argv[2]) : 20000;
	uint64_t size = (uint64_t)mib << 20, seed = 0xbe9c4ull;
	char cmd[16384];
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/qcow2bench.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir) || run("qemu-img --version >/dev/null && qemu-io --version >/dev/null")) {
		fprintf(stderr,
			"qcow2_bench: needs a temp dir and qemu-img/qemu-io (qemu-utils)\n");
		return 1;
	}
	printf("qcow2_bench: %u MiB zlib-compressed base + empty overlay, %d ops, queue depth 1\n",
	       mib, n);
	if (make_images(mib)) {
		fprintf(stderr, "qcow2_bench: could not build the images\n");
		return 1;
	}
	uint64_t *offs = malloc(sizeof(*offs) * (size_t)n);
	for (int i = 0; i < n; i++)
		offs[i] = (rnd(&seed) % (size / 4096)) * 4096;
	write_script("reads.txt", offs, n, false);
	write_script("writes.txt", offs, n, true);
	/* -t none needs O_DIRECT; tmpfs has none, fall back to writeback for QEMU. */
	snprintf(cmd, sizeof(cmd),
		 "qemu-io -r -t none -c 'read 0 4096' '%s/ov.qcow2' >/dev/null 2>&1", dir);
	const char *cache = run(cmd) ? "writeback" : "none";
	printf("qemu cache mode: -t %s (ours: page cache)\n", cache);

	snprintf(cmd, sizeof(cmd),
		 "qemu-io -r -t %s -f qcow2 '%s/ov.qcow2' < '%s/reads.txt' >/dev/null", cache, dir,
		 dir);
	row("random 4 KiB reads", ours("ov.qcow2", false, offs, n, 4096, size), timed(cmd));

	snprintf(cmd, sizeof(cmd),
		 "qemu-img bench -f qcow2 -t %s -d 1 -s 4096 -c %d '%s/ov.qcow2' >/dev/null", cache,
		 n, dir);
	row("sequential 4 KiB reads", ours("ov.qcow2", false, NULL, n, 4096, size), timed(cmd));

	int nbig = n / 20 ? n / 20 : 1;
	snprintf(cmd, sizeof(cmd),
		 "qemu-img bench -f qcow2 -t %s -d 1 -s 1M -c %d '%s/ov.qcow2' >/dev/null", cache,
		 nbig, dir);
	char what[64];
	snprintf(what, sizeof(what), "sequential 1 MiB reads (x%d)", nbig);
	row(what, ours("ov.qcow2", false, NULL, nbig, 1u << 20, size), timed(cmd));

	snprintf(cmd, sizeof(cmd), "cd '%s' && cp ov.qcow2 ovq.qcow2 && cp ov.qcow2 ovo.qcow2",
		 dir);
	run(cmd);
	snprintf(cmd, sizeof(cmd),
		 "qemu-io -t %s -f qcow2 '%s/ovq.qcow2' < '%s/writes.txt' >/dev/null", cache, dir,
		 dir);
	double q_w = timed(cmd);
	row("random 4 KiB writes (COW)", ours("ovo.qcow2", true, offs, n, 4096, size), q_w);
	snprintf(cmd, sizeof(cmd), "qemu-img compare -q '%s/ovq.qcow2' '%s/ovo.qcow2'", dir, dir);
	printf("written images identical: %s\n", run(cmd) ? "NO" : "yes");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	run(cmd);
	free(offs);
	return 0;
}
