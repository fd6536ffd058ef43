/* libext2fs on a struct blkdev: a minimal read-only io_manager, and path
 * resolution done here (component by component with ext2fs_lookup) so that
 * the path actually reached can be reported and loops counted. */
#include "boot/extfs.h"
#include "vmm/log.h"

#include <et/com_err.h>
#include <ext2fs/ext2fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXTFS_DEPTH_MAX 64

struct extfs {
	ext2_filsys fs;
	char what[128];
};

/* ext2fs_open2() names the device by a string: the blkdev to open is
 * handed over through this (set just before, cleared just after). */
static __thread const struct blkdev *extfs_pending_dev;

static errcode_t bio_read64(io_channel ch, unsigned long long block, int count, void *data)
{
	const struct blkdev *dev = ch->private_data;
	uint64_t bytes = count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * (uint64_t)ch->block_size;
	if (block > UINT64_MAX / (uint64_t)ch->block_size)
		return EXT2_ET_LLSEEK_FAILED;
	int r = blkdev_read(dev, block * (uint64_t)ch->block_size, data, bytes);
	if (r == -ERANGE)
		return EXT2_ET_SHORT_READ;
	return r ? (errcode_t)-r : 0;
}

static errcode_t bio_read(io_channel ch, unsigned long block, int count, void *data)
{
	return bio_read64(ch, block, count, data);
}

static errcode_t bio_write(io_channel ch, unsigned long block, int count, const void *data)
{
	(void)ch; (void)block; (void)count; (void)data;
	return EROFS;
}

static errcode_t bio_write64(io_channel ch, unsigned long long block, int count,
			     const void *data)
{
	(void)ch; (void)block; (void)count; (void)data;
	return EROFS;
}

static errcode_t bio_set_blksize(io_channel ch, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	ch->block_size = blksize;
	return 0;
}

static errcode_t bio_flush(io_channel ch)
{
	(void)ch;
	return 0;
}

static errcode_t bio_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t bio_open(const char *name, int flags, io_channel *out);

static struct struct_io_manager blkdev_io_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "minivmm blkdev",
	.open = bio_open,
	.close = bio_close,
	.set_blksize = bio_set_blksize,
	.read_blk = bio_read,
	.write_blk = bio_write,
	.flush = bio_flush,
	.read_blk64 = bio_read64,
	.write_blk64 = bio_write64,
};

static errcode_t bio_open(const char *name, int flags, io_channel *out)
{
	if (!extfs_pending_dev || (flags & IO_FLAG_RW))
		return EXT2_ET_BAD_DEVICE_NAME;
	io_channel ch = calloc(1, sizeof(*ch));
	if (!ch || !(ch->name = strdup(name))) {
		free(ch);
		return EXT2_ET_NO_MEMORY;
	}
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &blkdev_io_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = (void *)extfs_pending_dev;
	*out = ch;
	return 0;
}

int extfs_open(const struct blkdev *dev, const char *what, struct extfs **out)
{
	struct extfs *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	snprintf(e->what, sizeof(e->what), "%s", what);
	extfs_pending_dev = dev;
	errcode_t err = ext2fs_open2("minivmm-blkdev", NULL, EXT2_FLAG_64BITS, 0, 0,
				     &blkdev_io_manager, &e->fs);
	extfs_pending_dev = NULL;
	if (err) {
		log_warn("boot: %s: cannot read the ext2/3/4 file system: %s", what,
			  error_message(err));
		free(e);
		return -EINVAL;
	}
	*out = e;
	return 0;
}

void extfs_close(struct extfs *fs)
{
	if (!fs)
		return;
	ext2fs_close_free(&fs->fs);
	free(fs);
}

/* The target of the symlink at ino into buf (NUL-terminated). */
static int extfs_readlink(struct extfs *e, ext2_ino_t ino, struct ext2_inode *inode,
			  char *buf, size_t cap)
{
	uint64_t size = EXT2_I_SIZE(inode);
	if (size == 0 || size >= cap)
		return -ENAMETOOLONG;
	if (ext2fs_is_fast_symlink(inode)) {
		if (size >= sizeof(inode->i_block))
			return -EIO;
		memcpy(buf, inode->i_block, size);
		buf[size] = '\0';
		return 0;
	}
	ext2_file_t f;
	unsigned got = 0;
	if (ext2fs_file_open2(e->fs, ino, inode, 0, &f))
		return -EIO;
	errcode_t err = ext2fs_file_read(f, buf, (unsigned)size, &got);
	ext2fs_file_close(f);
	if (err || got != size)
		return -EIO;
	buf[size] = '\0';
	return memchr(buf, '\0', size) ? -EIO : 0;
}

/* Where resolution stands: the directories walked from the root. */
struct walk {
	ext2_ino_t ino[EXTFS_DEPTH_MAX + 1];
	size_t name_end[EXTFS_DEPTH_MAX + 1];	/* end of each component in path */
	unsigned depth;
	char path[EXTFS_PATH_MAX];
};

static int walk_push(struct walk *w, const char *name, size_t len, ext2_ino_t ino)
{
	size_t at = w->name_end[w->depth];
	if (w->depth == EXTFS_DEPTH_MAX || at + 1 + len + 1 > sizeof(w->path))
		return -ENAMETOOLONG;
	w->path[at] = '/';
	memcpy(w->path + at + 1, name, len);
	w->path[at + 1 + len] = '\0';
	w->depth++;
	w->ino[w->depth] = ino;
	w->name_end[w->depth] = at + 1 + len;
	return 0;
}

static void walk_pop(struct walk *w)
{
	if (w->depth == 0)
		return;
	w->depth--;
	w->path[w->name_end[w->depth]] = '\0';
}

/* Replaces the unwalked rest of todo with "target/rest". */
static int splice_link(char *todo, size_t cap, const char *target, const char *rest)
{
	char tmp[EXTFS_PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s/%s", target, rest);
	if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= cap)
		return -ENAMETOOLONG;
	memcpy(todo, tmp, (size_t)n + 1);
	return 0;
}

/* One component: look it up, follow it if it is a symlink. */
static int walk_step(struct extfs *e, struct walk *w, const char *name, size_t len,
		     const char *rest, char *todo, unsigned *links, bool *restarted)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	char target[EXTFS_PATH_MAX];

	*restarted = false;
	if (ext2fs_read_inode(e->fs, w->ino[w->depth], &inode))
		return -EIO;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return -ENOTDIR;
	errcode_t err = ext2fs_lookup(e->fs, w->ino[w->depth], name, (int)len, NULL, &ino);
	if (err)
		return err == EXT2_ET_FILE_NOT_FOUND ? -ENOENT : -EIO;
	if (ext2fs_read_inode(e->fs, ino, &inode))
		return -EIO;
	if (!LINUX_S_ISLNK(inode.i_mode))
		return walk_push(w, name, len, ino);
	if (++*links > EXTFS_SYMLINKS_MAX)
		return -ELOOP;
	int r = extfs_readlink(e, ino, &inode, target, sizeof(target));
	if (r == 0)
		r = splice_link(todo, EXTFS_PATH_MAX, target, rest);
	if (r)
		return r;
	if (target[0] == '/')
		w->depth = 0, w->path[0] = '\0';
	*restarted = true;
	return 0;
}

static int walk_path(struct extfs *e, const char *path, struct walk *w)
{
	char todo[EXTFS_PATH_MAX];
	unsigned links = 0;

	if (snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
		return -ENAMETOOLONG;
	w->depth = 0;
	w->ino[0] = EXT2_ROOT_INO;
	w->name_end[0] = 0;
	w->path[0] = '\0';
	char *p = todo;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		const char *rest = p[len] ? p + len + 1 : "";
		if (len == 1 && p[0] == '.') {
			p += len;
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			walk_pop(w);
			p += len;
		} else {
			bool restarted;
			char name[EXTFS_PATH_MAX];
			memcpy(name, p, len);
			name[len] = '\0';
			int r = walk_step(e, w, name, len, rest, todo, &links, &restarted);
			if (r)
				return r;
			p = restarted ? todo : p + len;
		}
	}
	if (w->depth == 0)
		strcpy(w->path, "/");
	return 0;
}

int extfs_resolve(struct extfs *fs, const char *path, char *resolved, size_t cap)
{
	struct walk *w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	int r = walk_path(fs, path, w);
	if (r == 0 && resolved && snprintf(resolved, cap, "%s", w->path) >= (int)cap)
		r = -ENAMETOOLONG;
	free(w);
	return r;
}

static int extfs_lookup_inode(struct extfs *fs, const char *path, ext2_ino_t *ino,
			      struct ext2_inode *inode, char *resolved, size_t cap)
{
	struct walk *w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	int r = walk_path(fs, path, w);
	if (r == 0) {
		*ino = w->ino[w->depth];
		if (ext2fs_read_inode(fs->fs, *ino, inode))
			r = -EIO;
	}
	if (r == 0 && resolved && snprintf(resolved, cap, "%s", w->path) >= (int)cap)
		r = -ENAMETOOLONG;
	free(w);
	return r;
}

bool extfs_is_file(struct extfs *fs, const char *path)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	return extfs_lookup_inode(fs, path, &ino, &inode, NULL, 0) == 0 &&
	       LINUX_S_ISREG(inode.i_mode);
}

static int extfs_read_ino(struct extfs *fs, ext2_ino_t ino, struct ext2_inode *inode,
			  uint64_t size, void *buf)
{
	ext2_file_t f;
	if (ext2fs_file_open2(fs->fs, ino, inode, 0, &f))
		return -EIO;
	uint64_t done = 0;
	int r = 0;
	while (done < size) {
		unsigned chunk = size - done > (1u << 30) ? 1u << 30 : (unsigned)(size - done);
		unsigned got = 0;
		errcode_t err = ext2fs_file_read(f, (char *)buf + done, chunk, &got);
		if (err || got == 0) {
			log_error("boot: %s: inode %u: read at byte %llu: %s", fs->what, ino,
				  (unsigned long long)done, err ? error_message(err) : "short file");
			r = -EIO;
			break;
		}
		done += got;
	}
	ext2fs_file_close(f);
	return r;
}

int extfs_read(struct extfs *fs, const char *path, uint64_t max, void **data, uint64_t *size,
	       char *resolved, size_t cap)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	int r = extfs_lookup_inode(fs, path, &ino, &inode, resolved, cap);
	if (r)
		return r;
	if (LINUX_S_ISDIR(inode.i_mode))
		return -EISDIR;
	if (!LINUX_S_ISREG(inode.i_mode))
		return -EINVAL;
	uint64_t n = EXT2_I_SIZE(&inode);
	if (n > max)
		return -EFBIG;
	void *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	r = extfs_read_ino(fs, ino, &inode, n, buf);
	if (r) {
		free(buf);
		return r;
	}
	*data = buf;
	*size = n;
	return 0;
}

struct list_ctx {
	int (*cb)(void *opaque, const char *name);
	void *opaque;
	int result;
};

static int list_one(struct ext2_dir_entry *d, int offset, int blocksize, char *buf, void *priv)
{
	(void)offset; (void)blocksize; (void)buf;
	struct list_ctx *c = priv;
	char name[256];
	int len = ext2fs_dirent_name_len(d);
	memcpy(name, d->name, (size_t)len);
	name[len] = '\0';
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	c->result = c->cb(c->opaque, name);
	return c->result ? DIRENT_ABORT : 0;
}

int extfs_list(struct extfs *fs, const char *dir,
	       int (*cb)(void *opaque, const char *name), void *opaque)
{
	ext2_ino_t ino;
	struct ext2_inode inode;
	int r = extfs_lookup_inode(fs, dir, &ino, &inode, NULL, 0);
	if (r)
		return r;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return -ENOTDIR;
	struct list_ctx c = { .cb = cb, .opaque = opaque };
	if (ext2fs_dir_iterate(fs->fs, ino, 0, NULL, list_one, &c))
		return -EIO;
	return c.result;
}
