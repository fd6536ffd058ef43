/* Shared fixture of the virtio-blk tests: a raw image with a known
 * pattern, the device in synchronous mode, the fake driver. */
#ifndef MINIVMM_TEST_BLK_FIXTURE_H
#define MINIVMM_TEST_BLK_FIXTURE_H

#include "devices/virtio/blk.h"
#include "devices/virtio/disk.h"
#include "devices/virtio/virtio_blk.h"
#include "tests/virtio/vdrv.h"
#include "tests/virtio/vtest.h"

#define BF_IMG_SIZE (1u << 20)
#define BF_QS 16
#define BF_MEM (4u << 20)

struct blk_fixture {
	struct vdrv d;
	struct disk *disk;
	struct vblk *b;
	char path[256];
	unsigned notifies, resets;
};
extern struct blk_fixture bf;
/* Set before bf_open() to open the image with O_DIRECT. */
extern bool bf_direct;
/* Set before bf_open() to put the image there (NULL: the test folder). */
extern const char *bf_dir;

/* Byte i of the image before any test write. */
static inline uint8_t bf_pattern(uint64_t i) { return (uint8_t)(i * 7 + i / 512); }

/* Create the image, open it (format, readonly) and start the device with
 * 'features' (0: everything offered). */
void bf_open(enum disk_format f, bool readonly, uint64_t features);
void bf_close(void);
/* The fixture's hooks: count notifies and needs_reset calls in bf. */
struct virtio_hooks bf_hooks(void);
/* Publish the chain at head, process synchronously, return the status
 * byte; *used_len gets the used length (may be NULL). */
int bf_run(uint16_t head, uint64_t status_gpa, uint32_t *used_len);
/* Read 'len' bytes of the image file at off (bypassing the device). */
void bf_file_read(uint64_t off, void *buf, size_t len);

#endif
