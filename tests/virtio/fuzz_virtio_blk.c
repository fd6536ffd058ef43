/* libFuzzer target: the input is a guest-memory image (rings, descriptors,
 * headers, data) plus four control bytes; virtio-blk processes it in
 * synchronous mode against a small raw file. ASan/UBSan catch any access
 * outside guest RAM (the buffer is exactly the RAM size); every request
 * parsed must have been completed. (The used index in guest memory is no
 * oracle: a hostile chain may point a data buffer at the used ring.)
 *
 * Input: [0] queue size = 1 << (x % 5)   [1] bit0 INDIRECT, bit1 EVENT_IDX
 *        [2] rounds = 1 + x % 4          [3] bit0 read-only disk
 *        [4..] guest RAM from GPA 0: descriptor table at 0x0, available
 *        ring at 0x100, used ring at 0x200, anything else free-form.
 * Given a directory argument, LLVMFuzzerInitialize seeds it with valid
 * requests if it is empty. */
#include "devices/virtio/blk.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_blk.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAM (64u << 10)
#define DESC 0x0
#define AVAIL 0x100
#define USED 0x200

static struct disk *disk_rw, *disk_ro;
static struct vblk *blk_rw, *blk_ro;	/* re-used: vblk_start() resets */
static char img_path[2][64];

/* Two images: a read-only open of the writable one would hit our lock. */
static struct disk *open_image(bool ro)
{
	char *path = img_path[ro];
	struct disk_opts o = { .path = path, .format = DISK_FORMAT_RAW, .readonly = ro };
	struct disk *d;
	int fd;

	snprintf(path, sizeof(img_path[0]), "/tmp/minivmm-fuzz-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 64 << 10) < 0 || disk_open(&o, &d))
		abort();
	close(fd);
	unlink(path);	/* the open disk keeps it; nothing left behind */
	return d;
}

/* ---- seeds ---- */

struct seed {
	uint8_t ctl[4];
	uint8_t ram[0x1000];
};

static void put_desc(struct seed *s, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };
	memcpy(s->ram + DESC + 16 * i, &d, 16);
}

static void publish(struct seed *s, uint16_t n, const uint16_t *heads)
{
	memcpy(s->ram + AVAIL + 2, &n, 2);
	memcpy(s->ram + AVAIL + 4, heads, 2u * n);
}

static void seed_request(struct seed *s, unsigned first, uint32_t type, uint64_t sector,
			 uint32_t len, bool to_guest)
{
	struct virtio_blk_req_hdr h = { .type = type, .sector = sector };
	uint64_t hdr = 0x400 + 0x100 * first, data = 0x800 + 0x100 * first;

	memcpy(s->ram + hdr, &h, 16);
	put_desc(s, first, hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(first + 1));
	put_desc(s, first + 1, data, len, VIRTQ_DESC_F_NEXT | (to_guest ? VIRTQ_DESC_F_WRITE : 0),
		 (uint16_t)(first + 2));
	put_desc(s, first + 2, hdr + 0x20, 1, VIRTQ_DESC_F_WRITE, 0);
}

static void write_seed(const char *dir, const char *name, const struct seed *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f) {
		fwrite(s, sizeof(*s), 1, f);
		fclose(f);
	}
}

static void make_seeds(const char *dir)
{
	static const uint16_t heads[] = { 0, 3, 6 };
	struct seed s;
	DIR *dd;
	struct dirent *e;
	int n = 0;

	mkdir(dir, 0755);
	dd = opendir(dir);
	if (!dd)
		return;
	while ((e = readdir(dd)))
		n += e->d_name[0] != '.';
	closedir(dd);
	if (n)
		return;
	memset(&s, 0, sizeof(s));
	s.ctl[0] = 4;
	s.ctl[1] = 3;
	seed_request(&s, 0, VIRTIO_BLK_T_IN, 2, 512, true);
	seed_request(&s, 3, VIRTIO_BLK_T_OUT, 5, 512, false);
	seed_request(&s, 6, VIRTIO_BLK_T_GET_ID, 0, 20, true);
	publish(&s, 3, heads);
	write_seed(dir, "in-out-getid", &s);
	memset(&s, 0, sizeof(s));
	s.ctl[0] = 3;
	s.ctl[1] = 1;
	seed_request(&s, 0, VIRTIO_BLK_T_IN, 1, 256, true);
	memcpy(s.ram + 0xc00, s.ram + DESC, 48);	/* the chain becomes a table */
	put_desc(&s, 0, 0xc00, 48, VIRTQ_DESC_F_INDIRECT, 0);
	publish(&s, 1, heads);
	write_seed(dir, "indirect", &s);
	memset(&s, 0, sizeof(s));
	s.ctl[0] = 4;
	seed_request(&s, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	memcpy(s.ram + 0x800, &(struct virtio_blk_discard_write_zeroes){ 3, 4, 1 }, 16);
	seed_request(&s, 3, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	publish(&s, 2, heads);
	write_seed(dir, "wz-flush", &s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_quiet(true);
	for (int i = 1; i < *argc; i++)
		if ((*argv)[i][0] != '-') {
			make_seeds((*argv)[i]);
			break;
		}
	disk_rw = open_image(false);
	disk_ro = open_image(true);
	blk_rw = vblk_create(disk_rw, &(struct vblk_opts){ .name = "fuzz" }, NULL);
	blk_ro = vblk_create(disk_ro, &(struct vblk_opts){ .name = "fuzz-ro" }, NULL);
	if (!blk_rw || !blk_ro)
		abort();
	return 0;
}

/* ---- one input ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *ram;
	struct guest_mem *gm;
	struct vblk *b;
	struct virtio_queue_layout q;
	uint64_t features;
	struct vblk_stats st;
	long done = 0;
	int r = 0;

	if (size < 4)
		return 0;
	ram = calloc(1, RAM);	/* exactly RAM bytes: ASan guards both ends */
	memcpy(ram, data + 4, size - 4 < RAM ? size - 4 : RAM);
	gm = gmem_wrap(ram, RAM);
	b = data[3] & 1 ? blk_ro : blk_rw;
	if (!gm)
		abort();
	features = vblk_features(b) & ~(VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
					VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	if (data[1] & 1)
		features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (data[1] & 2)
		features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	q = (struct virtio_queue_layout){ 1u << (data[0] % 5), DESC, AVAIL, USED };
	if (vblk_start(b, gm, features, &q, NULL) == 0) {
		for (int i = 0; i < 1 + data[2] % 4 && r >= 0; i++) {
			r = vblk_process(b);
			if (r > 0)
				done += r;
		}
		/* Every popped chain was completed: no request left in flight. */
		vblk_get_stats(b, &st);
		if (st.requests != st.completed || (uint64_t)done > st.completed)
			abort();
	}
	vblk_reset(b);
	gmem_destroy(gm);
	free(ram);
	return 0;
}
