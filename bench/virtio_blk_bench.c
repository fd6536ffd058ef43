/* virtio-blk through the host-side harness vs fio on the same raw file.
 *
 * The harness plays the guest driver: requests in a split ring in a
 * wrapped buffer, kicks through an eventfd (as an ioeventfd would),
 * interrupts through the notify hook into another eventfd (as an irqfd
 * would), event index on both sides. The device runs its real I/O thread
 * with io_uring. fio runs io_uring on the same file with the same cache
 * mode. Prints figures and ratios; asserts nothing.
 *
 * usage: virtio_blk_bench [-f FILE] [-s SIZE_MIB] [-t SECONDS] [-d] [-p US] [-q] [-c] [--no-fio]
 *   -d  O_DIRECT for both (cache=none); default: host page cache
 *   -p  the I/O thread's poll window (vblk_opts.poll_us: 0 default, -1 off);
 *       with US > 0 the harness also busy-polls that long for completions
 *   -q  qcow2: the file converted by qemu-img (fully allocated), compared
 *       with `qemu-img bench -i io_uring` on the same image instead of fio
 *       (qemu-img bench walks offsets sequentially; ours are random)
 *   -c  cold: drop the image from the page cache (POSIX_FADV_DONTNEED)
 *       before each run, ours and the comparison's */
#include "devices/virtio/blk.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_blk.h"
#include "tests/virtio/vdrv.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define QS 256
#define MAX_QD 64

struct bench {
	const char *file;
	uint64_t size;
	double seconds;
	bool direct, fio, qcow2, cold;
	char img[512];	/* the image the device opens */
	int poll_us;
	struct vdrv d;
	struct disk *disk;
	struct vblk *b;
	int kick_fd, call_fd;
	uint64_t rng;
	uint64_t status[MAX_QD], data[MAX_QD];
};

static void on_notify(void *opaque, unsigned q)
{
	struct bench *bn = opaque;
	uint64_t one = 1;

	(void)q;
	if (write(bn->call_fd, &one, sizeof(one)) < 0)
		abort();
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t next_rand(struct bench *bn)
{
	bn->rng ^= bn->rng << 13;
	bn->rng ^= bn->rng >> 7;
	bn->rng ^= bn->rng << 17;
	return bn->rng;
}

static int make_file(struct bench *bn)
{
	static char buf[1 << 20];
	int fd = open(bn->file, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 131 + 7);
	for (uint64_t off = 0; off < bn->size; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf)) {
			close(fd);
			return -EIO;
		}
	fsync(fd);
	close(fd);
	return 0;
}

/* The raw file as a fully allocated qcow2 image (host-contiguous). */
static int make_qcow2(struct bench *bn)
{
	char cmd[1200];

	if (!bn->qcow2)
		return 0;
	snprintf(cmd, sizeof(cmd), "qemu-img convert -f raw -O qcow2 '%s' '%s'", bn->file, bn->img);
	return system(cmd) == 0 ? 0 : -EIO;
}

static int start_device(struct bench *bn)
{
	struct disk_opts o = { .path = bn->img, .format = bn->qcow2 ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW,
			       .direct = bn->direct };
	struct virtio_hooks h = { .notify = on_notify, .opaque = bn };
	struct virtio_queue_layout q;
	int r;

	if ((r = disk_open(&o, &bn->disk)))
		return r;
	bn->b = vblk_create(bn->disk, &(struct vblk_opts){ .name = "bench", .poll_us = bn->poll_us }, &h);
	if (!bn->b || vdrv_init(&bn->d, (uint64_t)(MAX_QD + 4) << 20, QS))
		return -ENOMEM;
	bn->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	bn->call_fd = eventfd(0, EFD_CLOEXEC);
	for (unsigned i = 0; i < MAX_QD; i++)
		bn->data[i] = vdrv_alloc(&bn->d, 1 << 20, 4096);
	q = (struct virtio_queue_layout){ QS, bn->d.desc_gpa, bn->d.avail_gpa, bn->d.used_gpa };
	return vblk_start(bn->b, bn->d.gm, vblk_features(bn->b), &q, &bn->kick_fd);
}

/* Driver-side kick suppression with the event index. */
static void kick_if_needed(struct bench *bn, uint16_t old)
{
	uint64_t one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vring_need_event(__atomic_load_n(vdrv_avail_event(&bn->d), __ATOMIC_RELAXED),
			     bn->d.avail_idx, old) &&
	    write(bn->kick_fd, &one, sizeof(one)) < 0)
		abort();
}

static void submit(struct bench *bn, unsigned slot, uint64_t sector, uint32_t len)
{
	if (!bn->status[slot])
		bn->status[slot] = vdrv_blk_chain(&bn->d, 3 * slot, VIRTIO_BLK_T_IN, sector,
						  bn->data[slot], len, true);
	else {
		/* Re-use the slot's descriptors: only the sector changes. */
		struct virtio_blk_req_hdr *h = vdrv_hva(&bn->d, vdrv_desc(&bn->d, 3 * slot)->addr);
		h->sector = sector;
		vdrv_desc(&bn->d, 3 * slot + 1)->len = len;
	}
	vdrv_publish(&bn->d, (uint16_t)(3 * slot));
}

/* Block until the device has used something (interrupt or already there).
 * With -p the "guest" first polls, as a guest driver in a busy loop
 * (io_poll) would, and asks for no interrupt meanwhile: an event index one
 * behind what it consumed is never crossed. Before blocking it asks again
 * and looks once more (the device may have completed in between). */
static void wait_used(struct bench *bn)
{
	uint16_t *event = vdrv_used_event(&bn->d);
	uint64_t v;

	if (bn->poll_us > 0) {
		double end = now() + bn->poll_us / 1e6;

		__atomic_store_n(event, (uint16_t)(bn->d.last_used - 1), __ATOMIC_RELAXED);
		for (unsigned spins = 0;; spins++) {
			if (vdrv_used_idx(&bn->d) != bn->d.last_used)
				return;
			__builtin_ia32_pause();
			if ((spins & 15) == 15 && now() >= end)
				break;
		}
		__atomic_store_n(event, bn->d.last_used, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	while (vdrv_used_idx(&bn->d) == bn->d.last_used)
		if (read(bn->call_fd, &v, sizeof(v)) < 0 && errno != EINTR)
			abort();
}

static void drop_cache(const struct bench *bn)
{
	int fd;

	if (!bn->cold || (fd = open(bn->img, O_RDONLY)) < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* Run reads of 'len' bytes at queue depth qd for the configured time;
 * random 4 KiB-aligned offsets or sequential. Returns ops per second. */
static double run(struct bench *bn, unsigned qd, uint32_t len, bool random)
{
	uint64_t nblocks = bn->size / len, seq = 0, ops = 0, errors = 0;
	double t0, t;
	uint32_t id, ulen;
	uint16_t old = bn->d.avail_idx;

	memset(bn->status, 0, sizeof(bn->status));
	drop_cache(bn);
	t0 = now();
	for (unsigned i = 0; i < qd; i++)
		submit(bn, i, (random ? next_rand(bn) % nblocks : seq++ % nblocks) * (len / 512), len);
	kick_if_needed(bn, old);
	for (;;) {
		wait_used(bn);
		old = bn->d.avail_idx;
		t = now();
		while (vdrv_get_used(&bn->d, &id, &ulen)) {
			unsigned slot = id / 3;
			errors += *(uint8_t *)vdrv_hva(&bn->d, bn->status[slot]) != VIRTIO_BLK_S_OK;
			ops++;
			if (t - t0 < bn->seconds)
				submit(bn, slot, (random ? next_rand(bn) % nblocks : seq++ % nblocks) *
						 (len / 512), len);
		}
		if (bn->d.avail_idx != old)
			kick_if_needed(bn, old);
		else if (vdrv_used_idx(&bn->d) == bn->d.avail_idx)
			break;	/* all in flight came back */
	}
	if (errors)
		fprintf(stderr, "virtio_blk_bench: %llu requests failed\n", (unsigned long long)errors);
	return ops / (now() - t0);
}

/* fio with the same pattern; ops per second, or 0 if fio failed. */
static double run_fio(struct bench *bn, unsigned qd, uint32_t len, bool random)
{
	char cmd[1024], out[1 << 16];
	size_t n;
	const char *p;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "fio --name=b --filename='%s' --rw=%s --bs=%u --iodepth=%u --ioengine=io_uring "
		 "--direct=%d --size=%llu --time_based --runtime=%.0f --randrepeat=0 "
		 "--gtod_reduce=1 --norandommap --invalidate=0 --output-format=json 2>/dev/null",
		 bn->file, random ? "randread" : "read", len, qd, bn->direct,
		 (unsigned long long)bn->size, bn->seconds);
	drop_cache(bn);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	n = fread(out, 1, sizeof(out) - 1, f);
	pclose(f);
	out[n] = 0;
	p = strstr(out, "\"read\"");
	p = p ? strstr(p, "\"iops\"") : NULL;
	p = p ? strchr(p, ':') : NULL;
	return p ? strtod(p + 1, NULL) : 0;
}

/* qemu-img bench on the qcow2 image, about as long as our run (it takes a
 * request count): ops per second, or 0 if it failed. */
static double run_qemu_img(struct bench *bn, unsigned qd, uint32_t len, double our_rate)
{
	char cmd[1024], out[4096];
	unsigned long long count = (unsigned long long)(our_rate * bn->seconds) + qd;
	const char *p;
	size_t n;
	FILE *f;

	drop_cache(bn);
	snprintf(cmd, sizeof(cmd),
		 "qemu-img bench -U -f qcow2 -i io_uring -t %s -c %llu -d %u -s %u '%s' 2>&1",
		 bn->direct ? "none" : "writeback", count, qd, len, bn->img);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	n = fread(out, 1, sizeof(out) - 1, f);
	pclose(f);
	out[n] = 0;
	p = strstr(out, "completed in ");
	return p && strtod(p + 13, NULL) > 0 ? count / strtod(p + 13, NULL) : 0;
}

static void row(struct bench *bn, const char *name, unsigned qd, uint32_t len, bool random)
{
	struct vblk_stats s0, s1;
	vblk_get_stats(bn->b, &s0);
	double ours = run(bn, qd, len, random);
	vblk_get_stats(bn->b, &s1);
	double fio = !bn->fio ? 0 : bn->qcow2 ? run_qemu_img(bn, qd, len, ours)
					     : run_fio(bn, qd, len, random);
	double scale = len >= (1u << 20) ? (double)len / (1 << 20) : 1;
	const char *unit = len >= (1u << 20) ? "MiB/s" : "IOPS";

	if (fio > 0)
		printf("%-24s %12.0f %-5s %12.0f %-5s %6.2f\n", name, ours * scale, unit, fio * scale,
		       unit, ours / fio);
	else
		printf("%-24s %12.0f %-5s %18s %6s\n", name, ours * scale, unit, "-", "-");
	if (getenv("BENCH_STATS"))
		printf("    requests %llu, inline (RWF_NOWAIT) %llu, in memory %llu, misses %llu, polls hit %llu, "
		       "qcow2 mapped %llu, barriers %llu, interrupts %llu\n",
		       (unsigned long long)(s1.requests - s0.requests),
		       (unsigned long long)(s1.inline_reads - s0.inline_reads),
		       (unsigned long long)(s1.inline_rw - s0.inline_rw),
		       (unsigned long long)(s1.nowait_misses - s0.nowait_misses),
		       (unsigned long long)(s1.polls_hit - s0.polls_hit),
		       (unsigned long long)(s1.mapped - s0.mapped),
		       (unsigned long long)(s1.barriers - s0.barriers),
		       (unsigned long long)(s1.notifies - s0.notifies));
	fflush(stdout);
}

static int parse_args(struct bench *bn, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc)
			bn->file = argv[++i];
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			bn->size = strtoull(argv[++i], NULL, 0) << 20;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			bn->seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "-d"))
			bn->direct = true;
		else if (!strcmp(argv[i], "-p") && i + 1 < argc)
			bn->poll_us = (int)strtol(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-c"))
			bn->cold = true;
		else if (!strcmp(argv[i], "-q"))
			bn->qcow2 = true;
		else if (!strcmp(argv[i], "--no-fio"))
			bn->fio = false;
		else {
			fprintf(stderr, "usage: %s [-f FILE] [-s SIZE_MIB] [-t SECONDS] [-d] [-p POLL_US] [-q] [-c] [--no-fio]\n",
				argv[0]);
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench bn = { .file = "/tmp/minivmm-bench.raw", .size = 256ull << 20,
				   .seconds = 3, .fio = true, .rng = 0x9e3779b97f4a7c15ull };
	int r;

	if (parse_args(&bn, argc, argv))
		return 2;
	snprintf(bn.img, sizeof(bn.img), "%s%s", bn.file, bn.qcow2 ? ".qcow2" : "");
	if ((r = make_file(&bn)) || (r = make_qcow2(&bn)) || (r = start_device(&bn))) {
		fprintf(stderr, "virtio_blk_bench: setup failed: %s\n", strerror(-r));
		return 1;
	}
	if (bn.fio && system(bn.qcow2 ? "command -v qemu-img >/dev/null 2>&1"
				      : "command -v fio >/dev/null 2>&1") != 0) {
		fprintf(stderr, "virtio_blk_bench: %s not installed: no comparison\n",
			bn.qcow2 ? "qemu-img" : "fio");
		bn.fio = false;
	}
	printf("virtio-blk (host-side harness, I/O thread, io_uring) vs %s\n",
	       bn.qcow2 ? "qemu-img bench -i io_uring (qcow2)" : "fio io_uring (raw)");
	printf("file %s, %llu MiB, %s, %.0f s per run, device polling %d us (0: default)\n", bn.img,
	       (unsigned long long)(bn.size >> 20), bn.direct ? "O_DIRECT" : bn.cold ? "page cache, dropped before each run" : "page cache", bn.seconds,
	       bn.poll_us);
	printf("%-24s %18s %18s %6s\n", "test", "minivmm", bn.qcow2 ? "qemu-img" : "fio", "ratio");
	row(&bn, "randread 4k qd1", 1, 4096, true);
	row(&bn, "randread 4k qd32", 32, 4096, true);
	row(&bn, "seqread 1M qd8", 8, 1 << 20, false);
	vblk_destroy(bn.b);
	disk_close(bn.disk);
	vdrv_fini(&bn.d);
	unlink(bn.file);
	if (bn.qcow2)
		unlink(bn.img);
	return 0;
}
