/* SPDX-License-Identifier: Apache-2.0 */
/* Our own squashfs serializer over the public libsquashfs API (the library's
 * companion tools' writer and tree code are GPL: not used, not copied). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_writer.h>
#include <sqfs/super.h>
#include <sqfs/xattr_writer.h>
#include <zlib.h>
#include <zstd.h>

#include "block_cache.h"
#include "durable.h"
#include "log.h"
#include "sqfs_writer.h"
#include "util.h"

#define NO_XATTR 0xFFFFFFFFu
/* Images are padded to this, as mksquashfs does, so loop devices and block
 * copies see whole blocks. */
#define IMAGE_PAD 4096
/* Files smaller than a block are set aside in an unlinked spill file beside
 * the image (each compressed with zstd's fast level -5: ~2x smaller for
 * ~1 s of CPU a GB; level 1 cost twice that),
 * up to this many bytes on disk, and written last in tree order: their data
 * all goes to fragment blocks, which compress better (and their inodes too)
 * when neighbours in the tree are packed together, as mksquashfs packs them,
 * than in tar order. A file deleted above is never written. Past the bound,
 * small files are written as they come. Each file is charged its worst
 * case on disk (spill_charge()), a function of its size only: which files
 * are set aside, hence the image's bytes, must not depend on how well the
 * local libzstd compresses them (an xz or gzip image would otherwise
 * differ between two zstd versions). */
#define SPILL_MAX (256ull * 1024 * 1024)
#define SPILL_LEVEL (-5)

/* At least ZSTD_compressBound(size) = size + size/256 + (128 KiB - size)/2048
 * below 128 KiB: an upper bound of what the file takes in the spill file. */
static uint64_t spill_charge(uint64_t size)
{
	return size + size / 256 + 64;
}

/* An sqfs_file_t over our fd, so a failed write keeps its errno (ENOSPC must
 * reach the user as "disk full", not as libsquashfs' generic I/O error). */
struct fd_file {
	sqfs_file_t base;
	int fd;
	uint64_t size;
	int error;
};

struct sqfs_writer {
	struct fd_file file;
	const char *path;
	sqfs_super_t super;
	sqfs_compressor_t *cmp;
	sqfs_compressor_t *uncmp;    /* reads fragment blocks back to compare tails */
	sqfs_compressor_t *data_cmp; /* the block processor's: cmp's settings, looks in cache first */
	struct block_cache *cache;
	char settings[160]; /* what makes the data blocks; "" when not known well enough to reuse them */
	sqfs_block_writer_t *block_writer;
	sqfs_frag_table_t *frag_table;
	sqfs_block_processor_t *proc;
	sqfs_id_table_t *ids;
	sqfs_xattr_writer_t *xattrs;
	sqfs_meta_writer_t *inode_meta, *dir_meta;
	sqfs_dir_writer_t *dir_writer;
	uint32_t n_inodes;
	uint32_t block_size;
	int spill_fd; /* -1 until the first small file */
	uint64_t spill_size;
	uint64_t spill_charged, spill_max; /* spill_charge() of the files set aside, and its bound */
	struct fs_inode *spilling;         /* the small file being received */
	uint8_t *spill_buf;                /* its data (under a block), then compressed data */
	size_t spill_pos, spill_cap;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	bool file_open;
	bool data_finished;
	bool failed; /* logged already */
};

static int fd_file_write_at(sqfs_file_t *base, sqfs_u64 offset, const void *buffer, size_t size)
{
	struct fd_file *f = (struct fd_file *) base;
	int r = pwrite_all(f->fd, buffer, size, offset);
	if (r < 0) {
		f->error = -r; /* ENOSPC reaches the user as "disk full" */
		return SQFS_ERROR_IO;
	}
	if (offset + size > f->size)
		f->size = offset + size;
	return 0;
}

static int fd_file_read_at(sqfs_file_t *base, sqfs_u64 offset, void *buffer, size_t size)
{
	struct fd_file *f = (struct fd_file *) base;
	ssize_t n = pread_full(f->fd, buffer, size, offset);
	if (n < 0) {
		f->error = (int) -n;
		return SQFS_ERROR_IO;
	}
	return (size_t) n < size ? SQFS_ERROR_OUT_OF_BOUNDS : 0;
}

static sqfs_u64 fd_file_get_size(const sqfs_file_t *base)
{
	return ((const struct fd_file *) base)->size;
}

static int fd_file_truncate(sqfs_file_t *base, sqfs_u64 size)
{
	struct fd_file *f = (struct fd_file *) base;
	if (ftruncate(f->fd, (off_t) size) < 0) {
		f->error = errno;
		return SQFS_ERROR_IO;
	}
	f->size = size;
	return 0;
}

static void fd_file_destroy(sqfs_object_t *obj)
{
	(void) obj; /* embedded in struct sqfs_writer, which owns the fd's user */
}

/* Log a libsquashfs failure once and turn it into an errno. */
static int writer_fail(struct sqfs_writer *w, int sqfs_error, const char *what)
{
	int r;
	if (w->file.error) {
		r = -w->file.error;
		if (r == -ENOSPC || r == -EDQUOT) {
			if (!w->failed)
				log_error_errno(r, "Disk full writing %s: %" PRIu64 " bytes written (%s)", w->path,
						w->file.size, what);
			w->failed = true;
			return r;
		}
	} else
		switch (sqfs_error) {
		case SQFS_ERROR_ALLOC:
			r = -ENOMEM;
			break;
		case SQFS_ERROR_OVERFLOW:
			r = -EOVERFLOW;
			break;
		case SQFS_ERROR_ARG_INVALID:
		case SQFS_ERROR_UNSUPPORTED:
			r = -EINVAL;
			break;
		default:
			r = -EIO;
		}
	if (!w->failed)
		log_error_errno(r, "Failed to write %s: %s (libsquashfs error %d): %m", w->path, what, sqfs_error);
	w->failed = true;
	return r;
}

static int compressor_config(const struct build_options *opts, sqfs_compressor_config_t *cfg)
{
	static const struct {
		enum build_compressor c;
		SQFS_COMPRESSOR id;
		int min, max;
	} table[] = {
		{ BUILD_COMPRESSOR_ZSTD, SQFS_COMP_ZSTD, 1, 22 },
		{ BUILD_COMPRESSOR_XZ, SQFS_COMP_XZ, 0, 9 },
		{ BUILD_COMPRESSOR_GZIP, SQFS_COMP_GZIP, 1, 9 },
		{ BUILD_COMPRESSOR_LZ4, SQFS_COMP_LZ4, 0, 0 },
	};
	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		if (table[i].c != opts->compressor)
			continue;
		if (sqfs_compressor_config_init(cfg, table[i].id, opts->block_size, 0) != 0)
			return log_error_errno(-EINVAL, "Cannot configure the %s compressor",
					       sqfs_compressor_name_from_id(table[i].id));
		if (opts->level != 0) {
			if (opts->level < table[i].min || opts->level > table[i].max)
				return log_error_errno(-EINVAL, "Compression level %d out of range for %s", opts->level,
						       sqfs_compressor_name_from_id(table[i].id));
			cfg->level = (sqfs_u32) opts->level;
		}
		return 0;
	}
	return log_error_errno(-EINVAL, "Unknown compressor %d", (int) opts->compressor);
}

#ifndef KAIROS_SQFS_VERSION /* set by userspace.mk; without it, no block is reused */
#define KAIROS_SQFS_VERSION ""
#endif

/* A stored block is a function of its bytes and of these: the compressor
 * and its settings, and the libraries that run it. Only for compressors
 * whose library version we can name. */
static void describe_settings(struct sqfs_writer *w, const sqfs_compressor_config_t *cfg)
{
	w->settings[0] = '\0';
	if (!KAIROS_SQFS_VERSION[0] || (cfg->id != SQFS_COMP_ZSTD && cfg->id != SQFS_COMP_GZIP))
		return;
	bool zstd = cfg->id == SQFS_COMP_ZSTD;
	(void) snprintf(w->settings, sizeof(w->settings),
			"blocks v1, libsquashfs %s, %s level %u flags %#x block %u, %s %s", KAIROS_SQFS_VERSION,
			sqfs_compressor_name_from_id(cfg->id), (unsigned) cfg->level, (unsigned) cfg->flags,
			(unsigned) cfg->block_size, zstd ? "libzstd" : "zlib",
			zstd ? ZSTD_versionString() : zlibVersion());
}

int sqfs_writer_compressor(const struct build_options *opts, const char **ret_name, unsigned *ret_level)
{
	sqfs_compressor_config_t cfg;
	int r = compressor_config(opts, &cfg);
	if (r < 0)
		return r;
	*ret_name = sqfs_compressor_name_from_id(cfg.id);
	*ret_level = cfg.level;
	return 0;
}

int sqfs_writer_new(int fd, const char *path, const struct build_options *opts, struct sqfs_writer **ret)
{
	_cleanup_(sqfs_writer_freep) struct sqfs_writer *w = calloc(1, sizeof(*w));
	sqfs_compressor_config_t cfg;
	int r;

	if (!w)
		return -ENOMEM;
	w->path = path;
	w->spill_fd = -1;
	w->spill_max = opts->spill_max ?: SPILL_MAX;
	w->block_size = opts->block_size;
	w->file = (struct fd_file){
		.base = { .base = { .destroy = fd_file_destroy },
			  .read_at = fd_file_read_at,
			  .write_at = fd_file_write_at,
			  .get_size = fd_file_get_size,
			  .truncate = fd_file_truncate },
		.fd = fd,
	};

	r = compressor_config(opts, &cfg);
	if (r < 0)
		// cppcheck-suppress memleak ; freed by its _cleanup_ attribute
		return r;
	r = sqfs_compressor_create(&cfg, &w->cmp);
	if (r != 0)
		return writer_fail(w, r, "creating the compressor");
	sqfs_compressor_config_t ucfg = cfg;
	ucfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
	r = sqfs_compressor_create(&ucfg, &w->uncmp);
	if (r != 0)
		return writer_fail(w, r, "creating the decompressor");

	sqfs_compressor_t *inner = NULL;
	r = sqfs_compressor_create(&cfg, &inner);
	if (r != 0)
		return writer_fail(w, r, "creating the compressor");
	if (block_cache_new(&w->cache) < 0 || !(w->data_cmp = block_cache_wrap(w->cache, inner))) {
		sqfs_destroy(inner);
		return -ENOMEM;
	}
	describe_settings(w, &cfg);

	r = sqfs_super_init(&w->super, opts->block_size, 0, cfg.id);
	if (r != 0)
		return writer_fail(w, r, "initializing the superblock");
	/* Placeholder: the real one is written last, once the tables exist. */
	r = sqfs_super_write(&w->super, &w->file.base);
	if (r != 0)
		return writer_fail(w, r, "writing the superblock");
	r = w->cmp->write_options(w->cmp, &w->file.base);
	if (r < 0)
		return writer_fail(w, r, "writing the compressor options");
	if (r > 0)
		w->super.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;

	w->block_writer = sqfs_block_writer_create(&w->file.base, IMAGE_PAD, 0);
	w->frag_table = sqfs_frag_table_create(0);
	w->ids = sqfs_id_table_create(0);
	w->xattrs = sqfs_xattr_writer_create(0);
	w->inode_meta = sqfs_meta_writer_create(&w->file.base, w->cmp, 0);
	/* The directory table follows the inode table on disk but is produced
	 * at the same time: keep it in memory until the inodes are out. */
	w->dir_meta = sqfs_meta_writer_create(&w->file.base, w->cmp, SQFS_META_WRITER_KEEP_IN_MEMORY);
	if (w->dir_meta)
		w->dir_writer = sqfs_dir_writer_create(w->dir_meta, 0);
	if (!w->block_writer || !w->frag_table || !w->ids || !w->xattrs || !w->inode_meta || !w->dir_writer)
		return -ENOMEM;

	unsigned threads = opts->threads;
	if (threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 ? (unsigned) n : 1;
	}
	/* Duplicates are stored once by libsquashfs. The block writer shares a
	 * file's blocks with an earlier identical run after comparing the
	 * stored bytes. A tail that matches an earlier fragment's xxh32 and size
	 * is shared too: with file and uncmp the processor reads that fragment
	 * back and compares the bytes, without them it trusts the 32-bit hash,
	 * which a layer can collide at will (tests/flatten: "xxh32 collision").
	 * The backlog bounds memory: each block in flight holds up to two
	 * block-sized buffers. */
	sqfs_block_processor_desc_t desc = {
		.size = sizeof(desc),
		.max_block_size = opts->block_size,
		.num_workers = threads,
		.max_backlog = 8 * threads,
		.cmp = w->data_cmp,
		.wr = w->block_writer,
		.tbl = w->frag_table,
		.file = &w->file.base,
		.uncmp = w->uncmp,
	};
	r = sqfs_block_processor_create_ex(&desc, &w->proc);
	if (r != 0)
		return writer_fail(w, r, "creating the block processor");
	*ret = TAKE_PTR(w);
	return 0;
}

/* The spill file: unlinked from the start, in the image's directory (the
 * same filesystem, whose free space the build is already using). */
static int spill_open(struct sqfs_writer *w)
{
	_cleanup_free_ char *copy = strdup(w->path);
	if (!copy)
		return -ENOMEM;
	const char *dir = dirname(copy);
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* no O_TMPFILE here: a named file, unlinked at once */
		_cleanup_free_ char *tmpl = NULL;
		if (asprintf(&tmpl, "%s/.tmp-spill.XXXXXX", dir) < 0)
			return -ENOMEM;
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			(void) unlink(tmpl);
	}
	if (fd < 0)
		return log_error_errno(negative_errno(), "Cannot create a temporary file in %s: %m", dir);
	w->spill_fd = fd;
	/* a block of data, then its compressed form after it */
	w->spill_cap = w->block_size + ZSTD_compressBound(w->block_size);
	w->spill_buf = malloc(w->spill_cap);
	w->zc = ZSTD_createCCtx();
	w->zd = ZSTD_createDCtx();
	if (!w->spill_buf || !w->zc || !w->zd)
		return -ENOMEM;
	return 0;
}

static int spill_fail(struct sqfs_writer *w, int r, const char *what)
{
	if (!w->failed) {
		if (r == -ENOSPC || r == -EDQUOT)
			log_error_errno(r,
					"Disk full writing %s: %" PRIu64 " bytes written, %" PRIu64
					" bytes of small files set aside (%s)",
					w->path, w->file.size, w->spill_size, what);
		else
			log_error_errno(r, "Cannot %s the small files set aside for %s: %m", what, w->path);
	}
	w->failed = true;
	return r;
}

/* A small file's whole data, from spill_buf, into the image now. */
static int write_small(struct sqfs_writer *w, struct fs_inode *inode, size_t size)
{
	int r = sqfs_block_processor_begin_file(w->proc, &inode->sqfs_inode, NULL, 0);
	if (r == 0)
		r = sqfs_block_processor_append(w->proc, w->spill_buf, size);
	if (r == 0)
		r = sqfs_block_processor_end_file(w->proc);
	if (r != 0)
		return writer_fail(w, r, "writing file data");
	inode->data_written = true;
	return 0;
}

/* Compress the small file received and append it to the spill file (its
 * charge was checked against the bound when it began). */
static int spill_store(struct sqfs_writer *w, struct fs_inode *inode)
{
	uint8_t *out = w->spill_buf + w->block_size;
	size_t n = ZSTD_compressCCtx(w->zc, out, w->spill_cap - w->block_size, w->spill_buf, w->spill_pos, SPILL_LEVEL);
	if (ZSTD_isError(n))
		return log_error_errno(-EIO, "Cannot compress a small file: %s", ZSTD_getErrorName(n));
	int r = pwrite_all(w->spill_fd, out, n, w->spill_size);
	if (r < 0)
		return spill_fail(w, r, "write");
	inode->data_deferred = true;
	inode->spill_offset = w->spill_size;
	inode->spill_size = (uint32_t) n;
	w->spill_size += n;
	w->spill_charged += spill_charge(inode->size);
	return 0;
}

int sqfs_writer_begin_file(struct sqfs_writer *w, struct fs_inode *inode)
{
	if (inode->size > 0 && inode->size < w->block_size &&
	    spill_charge(inode->size) <= w->spill_max - w->spill_charged) {
		if (w->spill_fd < 0) {
			int r = spill_open(w);
			if (r < 0)
				return r;
		}
		w->spilling = inode;
		w->spill_pos = 0;
		return 0;
	}
	/* The processor keeps &inode->sqfs_inode and updates it until finish:
	 * fs_inode lives as long as the tree. */
	int r = sqfs_block_processor_begin_file(w->proc, &inode->sqfs_inode, NULL, 0);
	if (r != 0)
		return writer_fail(w, r, "starting a file");
	w->file_open = true;
	inode->data_written = true;
	return 0;
}

int sqfs_writer_append(struct sqfs_writer *w, const void *data, size_t size)
{
	if (w->spilling) {
		if (size > w->spilling->size - w->spill_pos)
			return log_error_errno(-EIO, "Internal error: more data than the file's size (%" PRIu64 ")",
					       w->spilling->size);
		memcpy(w->spill_buf + w->spill_pos, data, size);
		w->spill_pos += size;
		return 0;
	}
	int r = sqfs_block_processor_append(w->proc, data, size);
	return r != 0 ? writer_fail(w, r, "writing file data") : 0;
}

int sqfs_writer_end_file(struct sqfs_writer *w)
{
	if (w->spilling) {
		struct fs_inode *inode = TAKE_PTR(w->spilling);
		if (w->spill_pos != inode->size)
			return log_error_errno(-EIO, "Internal error: a file ended before its size");
		return spill_store(w, inode);
	}
	int r = sqfs_block_processor_end_file(w->proc);
	w->file_open = false;
	return r != 0 ? writer_fail(w, r, "finishing a file") : 0;
}

/* A set-aside file still in the tree: its data, from the spill file. */
static int write_deferred(struct fs_node *n, void *userdata)
{
	struct sqfs_writer *w = userdata;
	struct fs_inode *inode = n->inode;
	uint8_t *in = w->spill_buf + w->block_size;

	if (!S_ISREG(inode->mode) || !inode->data_deferred || inode->data_written)
		return 0; /* not set aside, or another name of it came first */
	ssize_t k = pread_full(w->spill_fd, in, inode->spill_size, inode->spill_offset);
	if (k < (ssize_t) inode->spill_size)
		return spill_fail(w, k < 0 ? (int) k : -EIO, "read back");
	size_t got = ZSTD_decompressDCtx(w->zd, w->spill_buf, w->block_size, in, inode->spill_size);
	if (ZSTD_isError(got) || got != inode->size)
		return log_error_errno(-EIO, "The small files set aside for %s changed on disk", w->path);
	int r = write_small(w, inode, got);
	/* Its room back as it goes into the image: the spill then never needs
	 * room of its own beside the image (a file system without holes keeps
	 * it until the build ends). */
	if (r >= 0)
		(void) fallocate(w->spill_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t) inode->spill_offset,
				 (off_t) inode->spill_size);
	return r;
}

const char *sqfs_writer_settings(const struct sqfs_writer *w)
{
	return w->settings;
}

struct block_cache *sqfs_writer_block_cache(const struct sqfs_writer *w)
{
	return w->cache;
}

uint64_t sqfs_writer_bytes_written(const struct sqfs_writer *w)
{
	return w->file.size;
}

static int assign_inode_number(struct fs_node *n, void *userdata)
{
	struct sqfs_writer *w = userdata;
	if (n->inode->inode_number == 0)
		n->inode->inode_number = ++w->n_inodes;
	return 0;
}

static int inode_xattr_index(struct sqfs_writer *w, const struct fs_inode *inode, sqfs_u32 *ret)
{
	*ret = NO_XATTR;
	if (inode->n_xattrs == 0)
		return 0;
	int r = sqfs_xattr_writer_begin(w->xattrs, 0);
	for (size_t i = 0; r == 0 && i < inode->n_xattrs; i++)
		r = sqfs_xattr_writer_add(w->xattrs, inode->xattrs[i].key, inode->xattrs[i].value,
					  inode->xattrs[i].size);
	if (r == 0)
		r = sqfs_xattr_writer_end(w->xattrs, ret);
	return r != 0 ? writer_fail(w, r, "recording xattrs") : 0;
}

/* Linux's dev_t encoding (new_encode_dev), which the kernel's squashfs reads. */
static sqfs_u32 encode_devno(dev_t dev)
{
	unsigned ma = major(dev), mi = minor(dev);
	return (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
}

/* Set the common fields, record the inode's position and write it. */
static int emit_inode(struct sqfs_writer *w, struct fs_inode *inode, sqfs_inode_generic_t *ino)
{
	sqfs_u64 block;
	sqfs_u32 offset;
	int r;

	ino->base.mode = (sqfs_u16) (inode->mode & 0xFFFF);
	ino->base.mod_time = inode->mtime;
	ino->base.inode_number = inode->inode_number;
	r = sqfs_id_table_id_to_index(w->ids, inode->uid, &ino->base.uid_idx);
	if (r == 0)
		r = sqfs_id_table_id_to_index(w->ids, inode->gid, &ino->base.gid_idx);
	if (r != 0)
		return writer_fail(w, r, "recording owners (over 65536 distinct ids?)");

	sqfs_meta_writer_get_position(w->inode_meta, &block, &offset);
	inode->inode_ref = (block << 16) | offset;
	r = sqfs_meta_writer_write_inode(w->inode_meta, ino);
	if (r != 0)
		return writer_fail(w, r, "writing an inode");
	inode->serialized = true;
	return 0;
}

/* A new inode for a symlink, device, fifo or socket (files come from the
 * block processor). */
static sqfs_inode_generic_t *new_special_inode(const struct fs_inode *inode)
{
	size_t len = S_ISLNK(inode->mode) ? strlen(inode->symlink_target) : 0;
	sqfs_inode_generic_t *ino = calloc(1, sizeof(*ino) + len);
	if (!ino)
		return NULL;
	ino->payload_bytes_available = ino->payload_bytes_used = (sqfs_u32) len;
	switch (inode->mode & S_IFMT) {
	case S_IFLNK:
		ino->base.type = SQFS_INODE_SLINK;
		ino->data.slink.nlink = inode->nlink;
		ino->data.slink.target_size = (sqfs_u32) len;
		memcpy(ino->extra, inode->symlink_target, len);
		break;
	case S_IFCHR:
	case S_IFBLK:
		ino->base.type = S_ISCHR(inode->mode) ? SQFS_INODE_CDEV : SQFS_INODE_BDEV;
		ino->data.dev.nlink = inode->nlink;
		ino->data.dev.devno = encode_devno(inode->rdev);
		break;
	default: /* fifo, socket */
		ino->base.type = S_ISFIFO(inode->mode) ? SQFS_INODE_FIFO : SQFS_INODE_SOCKET;
		ino->data.ipc.nlink = inode->nlink;
		break;
	}
	return ino;
}

static int write_leaf_inode(struct sqfs_writer *w, struct fs_inode *inode)
{
	sqfs_inode_generic_t *ino;
	sqfs_u32 xattr;
	int r;

	r = inode_xattr_index(w, inode, &xattr);
	if (r < 0)
		return r;

	if (!S_ISREG(inode->mode)) {
		_cleanup_free_ sqfs_inode_generic_t *special = new_special_inode(inode);
		if (!special)
			return -ENOMEM;
		if (xattr != NO_XATTR) {
			r = sqfs_inode_make_extended(special);
			if (r == 0)
				r = sqfs_inode_set_xattr_index(special, xattr);
			if (r != 0)
				return writer_fail(w, r, "setting an xattr index");
		}
		return emit_inode(w, inode, special);
	}

	ino = inode->sqfs_inode;
	if (!ino)
		return log_error_errno(-EIO, "Internal error: file inode %" PRIu32 " in the image has no data",
				       inode->inode_number);
	if (inode->nlink > 1 || xattr != NO_XATTR) {
		r = sqfs_inode_make_extended(ino);
		if (r != 0)
			return writer_fail(w, r, "extending a file inode");
		ino->data.file_ext.nlink = inode->nlink;
	}
	if (xattr != NO_XATTR) {
		r = sqfs_inode_set_xattr_index(ino, xattr);
		if (r != 0)
			return writer_fail(w, r, "setting an xattr index");
	}
	return emit_inode(w, inode, ino);
}

/* Post-order: a directory's listing needs its children's inode references,
 * so every child inode is written before the directory's own. */
static int write_directory(struct sqfs_writer *w, struct fs_node *dir, sqfs_u32 parent_ino)
{
	size_t n_subdirs = 0;
	sqfs_u32 xattr;
	int r;

	fs_node_sort_children(dir); /* the byte order squashfs needs */
	for (size_t i = 0; i < dir->n_children; i++) {
		struct fs_node *c = dir->children[i];
		if (fs_node_is_dir(c)) {
			n_subdirs++;
			r = write_directory(w, c, dir->inode->inode_number);
		} else
			r = c->inode->serialized ? 0 : write_leaf_inode(w, c->inode);
		if (r < 0)
			return r;
	}

	r = sqfs_dir_writer_begin(w->dir_writer, 0);
	if (r != 0)
		return writer_fail(w, r, "starting a directory");
	for (size_t i = 0; i < dir->n_children; i++) {
		struct fs_inode *ci = dir->children[i]->inode;
		r = sqfs_dir_writer_add_entry(w->dir_writer, dir->children[i]->name, ci->inode_number, ci->inode_ref,
					      (sqfs_u16) (ci->mode & 0xFFFF));
		if (r != 0)
			return writer_fail(w, r, "adding a directory entry");
	}
	r = sqfs_dir_writer_end(w->dir_writer);
	if (r != 0)
		return writer_fail(w, r, "finishing a directory");

	r = inode_xattr_index(w, dir->inode, &xattr);
	if (r < 0)
		return r;
	_cleanup_free_ sqfs_inode_generic_t *ino =
		sqfs_dir_writer_create_inode(w->dir_writer, 2 + n_subdirs, xattr, parent_ino);
	if (!ino)
		return -ENOMEM;
	/* The helper derives the link count its own way; use the classic
	 * "2 + subdirectories" that stat() users and find(1) expect. */
	if (ino->base.type == SQFS_INODE_EXT_DIR)
		ino->data.dir_ext.nlink = (sqfs_u32) (2 + n_subdirs);
	else
		ino->data.dir.nlink = (sqfs_u32) (2 + n_subdirs);
	return emit_inode(w, dir->inode, ino);
}

int sqfs_writer_finish(struct sqfs_writer *w, struct fs_tree *tree, uint64_t *ret_entries)
{
	sqfs_file_t *file = &w->file.base;
	int r;

	if (w->spill_fd >= 0) {
		r = fs_tree_walk_post_order(tree->root, write_deferred, w);
		if (r < 0)
			return r;
	}
	r = sqfs_block_processor_finish(w->proc);
	w->data_finished = true;
	if (r != 0)
		return writer_fail(w, r, "flushing file data");

	(void) fs_tree_walk_post_order(tree->root, assign_inode_number, w);

	w->super.inode_table_start = file->get_size(file);
	r = write_directory(w, tree->root, w->n_inodes + 1);
	if (r < 0)
		return r;
	r = sqfs_meta_writer_flush(w->inode_meta);
	if (r != 0)
		return writer_fail(w, r, "writing the inode table");

	w->super.directory_table_start = file->get_size(file);
	r = sqfs_meta_writer_flush(w->dir_meta);
	if (r == 0)
		r = sqfs_meta_write_write_to_file(w->dir_meta);
	if (r != 0)
		return writer_fail(w, r, "writing the directory table");

	r = sqfs_frag_table_write(w->frag_table, file, &w->super, w->cmp);
	if (r != 0)
		return writer_fail(w, r, "writing the fragment table");
	r = sqfs_id_table_write(w->ids, file, &w->super, w->cmp);
	if (r != 0)
		return writer_fail(w, r, "writing the id table");
	/* squashfs wants the xattr tables last */
	r = sqfs_xattr_writer_flush(w->xattrs, file, &w->super, w->cmp);
	if (r != 0)
		return writer_fail(w, r, "writing the xattr tables");

	w->super.inode_count = w->n_inodes;
	w->super.root_inode_ref = tree->root->inode->inode_ref;
	w->super.bytes_used = file->get_size(file);

	uint64_t padded = (w->super.bytes_used + IMAGE_PAD - 1) / IMAGE_PAD * IMAGE_PAD;
	if (padded > w->super.bytes_used) {
		static const uint8_t zeros[IMAGE_PAD];
		r = file->write_at(file, w->super.bytes_used, zeros, padded - w->super.bytes_used);
		if (r != 0)
			return writer_fail(w, r, "padding the image");
	}
	r = sqfs_super_write(&w->super, file);
	if (r != 0)
		return writer_fail(w, r, "writing the superblock");
	if (ret_entries)
		*ret_entries = w->n_inodes;
	return 0;
}

void sqfs_writer_free(struct sqfs_writer *w)
{
	/* libsquashfs 1.2 leaks the blocks still queued or in flight when the
	 * processor is destroyed (our error paths): close the file and let the
	 * queue drain into the temp file, which the caller removes anyway. */
	if (w->proc && !w->data_finished) {
		if (w->file_open)
			(void) sqfs_block_processor_end_file(w->proc);
		(void) sqfs_block_processor_sync(w->proc);
	}
	/* the processor first: its workers use the compressor and writer */
	sqfs_destroy(w->proc);
	sqfs_destroy(w->dir_writer);
	sqfs_destroy(w->dir_meta);
	sqfs_destroy(w->inode_meta);
	sqfs_destroy(w->xattrs);
	sqfs_destroy(w->ids);
	sqfs_destroy(w->frag_table);
	sqfs_destroy(w->block_writer);
	sqfs_destroy(w->uncmp);
	sqfs_destroy(w->data_cmp);
	block_cache_unref(w->cache);
	sqfs_destroy(w->cmp);
	if (w->spill_fd >= 0)
		(void) close(w->spill_fd);
	free(w->spill_buf);
	ZSTD_freeCCtx(w->zc);
	ZSTD_freeDCtx(w->zd);
	free(w);
}
