/* SPDX-License-Identifier: Apache-2.0 */
#include "image_reuse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/error.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_reader.h>
#include <sqfs/super.h>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqfs/block.h>
#include <sqfs/frag_table.h>

#include "block_cache.h"
#include "layer_index.h"
#include "layer_walk.h"
#include "log.h"
#include "util.h"

#define SQFS_BLOCK_UNCOMPRESSED (1u << 24)
#define SQFS_BLOCK_SIZE_MASK ((1u << 24) - 1)
#define NO_FRAGMENT 0xFFFFFFFFu

/* The data of the entry being replayed, read from the installed image. */
struct replay_file {
	uint32_t layer;
	uint64_t ordinal, size;
	bool started;
	sqfs_inode_generic_t *inode;
	size_t block, n_blocks;
	uint64_t disk_pos; /* of the next block */
	bool tail_done;
	sqfs_u8 *tail; /* the fragment's bytes, libsquashfs-allocated */
	const struct layer_index_file *rec;
	uint64_t hashed; /* bytes of the file hashed so far (holes as zeros) */
};

struct image_reuse {
	struct image_source base;
	struct image_source *inner;
	const char *name; /* the caller's candidate's */
	char *image_path;
	struct layer_index *idx;
	size_t n_layers;
	uint64_t bytes;
	/* the installed squashfs */
	sqfs_file_t *file;
	sqfs_super_t super;
	sqfs_compressor_t *uncmp;
	sqfs_meta_reader_t *inodes;
	sqfs_data_reader_t *data;
	uint8_t *raw, *block;      /* one stored block, one decompressed */
	int fd;                    /* the image again, for the block cache to read stored blocks */
	struct block_cache *cache; /* offered blocks when the settings match, else NULL */
	struct replay_file cur;
	EVP_MD_CTX *md; /* the file's data, checked against its sha256 in the index */
	bool failed;    /* logged once */
};

/* A failure of the installed image or its index: logged once, and the
 * build is started again from all the layers. */
static int reuse_fail(struct image_reuse *r, const char *fmt, const char *detail)
{
	if (!r->failed) {
		log_warning("Cannot reuse the installed image %s: %s%s%s; building from all the layers instead",
			    r->name, fmt, detail ? " " : "", detail ? detail : "");
	}
	r->failed = true;
	return -EAGAIN;
}

static void replay_file_reset(struct replay_file *f)
{
	sqfs_free(f->inode);
	sqfs_free(f->tail);
	*f = (struct replay_file){ 0 };
}

void image_reuse_free(struct image_reuse *r)
{
	replay_file_reset(&r->cur);
	if (r->data)
		sqfs_destroy(r->data);
	if (r->inodes)
		sqfs_destroy(r->inodes);
	if (r->uncmp)
		sqfs_destroy(r->uncmp);
	if (r->file)
		sqfs_destroy(r->file);
	if (r->fd >= 0)
		(void) close(r->fd);
	if (r->idx)
		layer_index_free(r->idx);
	free(r->raw);
	free(r->block);
	EVP_MD_CTX_free(r->md);
	free(r->image_path);
	free(r);
}

static int open_image(struct image_reuse *r)
{
	sqfs_compressor_config_t cfg;
	r->file = sqfs_open_file(r->image_path, SQFS_FILE_OPEN_READ_ONLY);
	r->fd = open(r->image_path, O_RDONLY | O_CLOEXEC);
	if (!r->file || r->fd < 0)
		return log_warning_errno(-EIO, "Cannot open the installed image %s: not reusing it", r->image_path);
	if (sqfs_super_read(&r->super, r->file) != 0 ||
	    sqfs_compressor_config_init(&cfg, r->super.compression_id, r->super.block_size,
					SQFS_COMP_FLAG_UNCOMPRESS) != 0 ||
	    sqfs_compressor_create(&cfg, &r->uncmp) != 0)
		return log_warning_errno(-EBADMSG,
					 "The installed image %s is not a squashfs image this program reads: "
					 "not reusing it",
					 r->image_path);
	r->inodes =
		sqfs_meta_reader_create(r->file, r->uncmp, r->super.inode_table_start, r->super.directory_table_start);
	r->data = sqfs_data_reader_create(r->file, r->super.block_size, r->uncmp, 0);
	r->raw = malloc(r->super.block_size);
	r->block = malloc(r->super.block_size);
	if (!r->inodes || !r->data || !r->raw || !r->block)
		return -ENOMEM;
	if (sqfs_data_reader_load_fragment_table(r->data, &r->super) != 0)
		return log_warning_errno(-EBADMSG,
					 "Cannot read the fragment table of the installed image %s: not "
					 "reusing it",
					 r->image_path);
	return 0;
}

/* ---- the data of a replayed entry ---- */

static int start_file(struct image_reuse *r)
{
	struct replay_file *f = &r->cur;
	char what[96];
	const struct layer_index_file *rec = layer_index_find_file(r->idx, f->layer, f->ordinal);
	if (!rec) {
		/* replaced within the installed image, and this build writes it
		 * (its upper layers are too big to pre-scan, say) */
		(void) snprintf(what, sizeof(what), "(entry %" PRIu64 " of layer %" PRIu32 ")", f->ordinal, f->layer);
		return reuse_fail(r, "it does not hold a file this image writes", what);
	}
	int e = sqfs_meta_reader_read_inode(r->inodes, &r->super, rec->inode_ref >> 16,
					    (size_t) (rec->inode_ref & 0xFFFF), &f->inode);
	sqfs_u64 size = 0;
	if (e != 0 || (f->inode->base.type != SQFS_INODE_FILE && f->inode->base.type != SQFS_INODE_EXT_FILE) ||
	    sqfs_inode_get_file_size(f->inode, &size) != 0 || size != f->size || rec->size != f->size)
		return reuse_fail(r, "a file in it does not match its index", NULL);
	sqfs_u32 frag_index = NO_FRAGMENT, frag_offset = 0;
	(void) sqfs_inode_get_frag_location(f->inode, &frag_index, &frag_offset);
	uint64_t bs = r->super.block_size;
	f->n_blocks = frag_index == NO_FRAGMENT ? (size_t) ((size + bs - 1) / bs) : (size_t) (size / bs);
	f->tail_done = frag_index == NO_FRAGMENT;
	sqfs_u64 start = 0;
	if (sqfs_inode_get_file_block_count(f->inode) != f->n_blocks ||
	    sqfs_inode_get_file_block_start(f->inode, &start) != 0)
		return reuse_fail(r, "a file in it does not match its index", NULL);
	f->disk_pos = start;
	f->started = true;
	f->rec = rec;
	if (EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1)
		return -EIO;
	return 0;
}

/* The file's bytes up to offset + size, in order: gaps are holes. */
static int hash_piece(struct image_reuse *r, const void *buf, size_t size, uint64_t offset)
{
	struct replay_file *f = &r->cur;
	if (f->hashed < offset) {
		if (layer_index_hash_zeros(r->md, offset - f->hashed) < 0)
			return -EIO;
		f->hashed = offset;
	}
	if (size > 0 && EVP_DigestUpdate(r->md, buf, size) != 1)
		return -EIO;
	f->hashed += size;
	return 0;
}

/* After the file's last piece: its data must be what the index recorded. */
static int check_file(struct image_reuse *r)
{
	struct replay_file *f = &r->cur;
	uint8_t sha[32];
	unsigned len = 0;
	if (hash_piece(r, NULL, 0, f->size) < 0 || EVP_DigestFinal_ex(r->md, sha, &len) != 1 || len != 32)
		return -EIO;
	if (memcmp(sha, f->rec->sha256, sizeof(sha)) != 0)
		return reuse_fail(r, "a file in it does not read back as it was written (damaged on disk)", NULL);
	return 0;
}

/* Block f->block: stored (raw) and, decompressed, a piece. */
static int read_block(struct image_reuse *r, const void **buf, size_t *size, int64_t *offset)
{
	struct replay_file *f = &r->cur;
	uint64_t bs = r->super.block_size, at = (uint64_t) f->block * bs;
	size_t want = (size_t) (f->size - at < bs ? f->size - at : bs);
	sqfs_u32 word = f->inode->extra[f->block];
	size_t stored = word & SQFS_BLOCK_SIZE_MASK;
	bool uncompressed = word & SQFS_BLOCK_UNCOMPRESSED;

	f->block++;
	if (stored == 0)
		return 2; /* sparse: a hole, zeros to the writer */
	if (stored > bs || (uncompressed && stored != want))
		return reuse_fail(r, "a block of a file in it is damaged", NULL);
	int e = r->file->read_at(r->file, f->disk_pos, r->raw, stored);
	if (e != 0)
		return reuse_fail(r, "reading it failed (I/O error)", NULL);
	f->disk_pos += stored;
	const uint8_t *data = r->raw;
	if (!uncompressed) {
		sqfs_s32 n = r->uncmp->do_block(r->uncmp, r->raw, (sqfs_u32) stored, r->block, (sqfs_u32) bs);
		if (n < 0 || (size_t) n != want)
			return reuse_fail(r, "a block of a file in it does not decompress", NULL);
		data = r->block;
	}
	if (r->cache) {
		uint8_t sha[32];
		unsigned len = 0;
		if (EVP_Digest(data, want, sha, &len, EVP_sha256(), NULL) != 1 || len != 32)
			return -EIO;
		int k = block_cache_offer(r->cache, sha, f->disk_pos - stored, (uint32_t) stored, uncompressed);
		if (k < 0)
			return k;
	}
	*buf = data;
	*size = want;
	*offset = (int64_t) at;
	return 1;
}

static int replay_read_data(void *ctx, const void **buf, size_t *size, int64_t *offset)
{
	struct image_reuse *r = ctx;
	struct replay_file *f = &r->cur;
	int k;
	if (!f->started && (k = start_file(r)) < 0)
		return k;
	while (f->block < f->n_blocks) {
		k = read_block(r, buf, size, offset);
		if (k == 1 && (k = hash_piece(r, *buf, *size, (uint64_t) *offset)) == 0)
			return 1;
		if (k != 2) /* a hole: on to the next block */
			return k;
	}
	if (f->tail_done)
		return check_file(r);
	f->tail_done = true;
	size_t n = 0;
	sqfs_free(TAKE_PTR(f->tail));
	if (sqfs_data_reader_get_fragment(r->data, f->inode, &n, &f->tail) != 0)
		return reuse_fail(r, "the tail of a file in it does not read", NULL);
	uint64_t at = (uint64_t) f->n_blocks * r->super.block_size;
	if (n != f->size - at)
		return reuse_fail(r, "the tail of a file in it does not match its index", NULL);
	*buf = f->tail;
	*size = n;
	*offset = (int64_t) at;
	k = hash_piece(r, *buf, *size, at);
	return k < 0 ? k : 1;
}

/* ---- the image_source ---- */

static int walk_replayed(struct image_reuse *r, size_t index, struct layer_walk *w)
{
	_cleanup_(layer_index_cursor_freep) struct layer_index_cursor *c = NULL;
	w->index = index;
	w->digest = r->inner->layer_digest(r->inner, index);
	w->ls = NULL;
	w->lr = NULL;
	w->ordinal = 0;
	w->stream_bytes = 0;
	w->read_data = replay_read_data;
	w->check = NULL;
	w->data_ctx = r;
	int k = layer_index_cursor_open(r->idx, index, &c);
	if (k < 0)
		return k == -ENOMEM ? k : reuse_fail(r, "its index does not open", NULL);
	if (w->budget)
		w->budget->received = add_sat_u64(w->budget->received, r->inner->layer_size(r->inner, index));
	for (;; w->ordinal++) {
		struct flatten_entry e;
		k = layer_index_cursor_next(c, &e);
		if (k < 0)
			return reuse_fail(r, "its index is damaged", NULL);
		if (k == 0) {
			k = w->archive_end ? w->archive_end(w) : 0;
			break;
		}
		if (w->budget) /* as a read of the layer would have charged it */
			w->budget->expanded = add_sat_u64(w->budget->expanded, e.size);
		replay_file_reset(&r->cur);
		r->cur = (struct replay_file){ .layer = (uint32_t) index, .ordinal = w->ordinal, .size = e.size };
		const struct layer_index_file *rec =
			S_ISREG(e.mode) && !e.hardlink_target
				? layer_index_find_file(r->idx, (uint32_t) index, w->ordinal)
				: NULL;
		w->data_sha256 = rec ? rec->sha256 : NULL;
		k = w->entry(w, &e);
		if (k != 0) {
			k = k > 0 ? 0 : k;
			break;
		}
	}
	replay_file_reset(&r->cur);
	w->data_ctx = NULL;
	w->data_sha256 = NULL;
	return k;
}

static int reuse_walk_layer(struct image_source *src, size_t index, struct layer_walk *w)
{
	struct image_reuse *r = src->userdata;
	if (index < r->n_layers)
		return walk_replayed(r, index, w);
	return layer_walk_stream(src, index, w);
}

static int reuse_open_layer(struct image_source *src, size_t index, struct layer_stream **ret)
{
	struct image_reuse *r = src->userdata;
	if (index < r->n_layers)
		return log_error_errno(-EINVAL, "Internal error: layer %zu is replayed, not read", index);
	return r->inner->open_layer(r->inner, index, ret);
}

static const char *reuse_layer_digest(struct image_source *src, size_t index)
{
	struct image_reuse *r = src->userdata;
	return r->inner->layer_digest(r->inner, index);
}

static uint64_t reuse_layer_size(struct image_source *src, size_t index)
{
	struct image_reuse *r = src->userdata;
	return r->inner->layer_size(r->inner, index);
}

static int reuse_keep_layers(struct image_source *src, size_t first)
{
	struct image_reuse *r = src->userdata;
	/* replayed layers cost nothing to read again */
	if (first < r->n_layers)
		first = r->n_layers;
	if (!r->inner->keep_layers || first >= r->inner->n_layers)
		return 0;
	return r->inner->keep_layers(r->inner, first);
}

struct image_source *image_reuse_source(struct image_reuse *r)
{
	return &r->base;
}

size_t image_reuse_layers(const struct image_reuse *r)
{
	return r->n_layers;
}

const char *image_reuse_name(const struct image_reuse *r)
{
	return r->name;
}

uint64_t image_reuse_bytes(const struct image_reuse *r)
{
	return r->bytes;
}

/* The fragment blocks (tails and small files packed together) of the
 * installed image: those the new image packs alike are taken as they are.
 * Offered all at once (their data is what the small files' replay feeds
 * in another order); best effort: a failure only costs compressing. */
static void offer_fragments(struct image_reuse *r)
{
	sqfs_frag_table_t *t = sqfs_frag_table_create(0);
	if (!t)
		return;
	if (sqfs_frag_table_read(t, r->file, &r->super, r->uncmp) == 0) {
		size_t n = sqfs_frag_table_get_size(t);
		for (size_t i = 0; i < n; i++) {
			sqfs_fragment_t fr;
			if (sqfs_frag_table_lookup(t, (sqfs_u32) i, &fr) != 0)
				break;
			uint32_t stored = fr.size & SQFS_BLOCK_SIZE_MASK;
			bool uncompressed = fr.size & SQFS_BLOCK_UNCOMPRESSED;
			if (stored == 0 || stored > r->super.block_size ||
			    r->file->read_at(r->file, fr.start_offset, r->raw, stored) != 0)
				break;
			const uint8_t *data = r->raw;
			size_t size = stored;
			if (!uncompressed) {
				sqfs_s32 k =
					r->uncmp->do_block(r->uncmp, r->raw, stored, r->block, r->super.block_size);
				if (k <= 0)
					break;
				data = r->block;
				size = (size_t) k;
			}
			uint8_t sha[32];
			unsigned len = 0;
			if (EVP_Digest(data, size, sha, &len, EVP_sha256(), NULL) != 1 || len != 32 ||
			    block_cache_offer(r->cache, sha, fr.start_offset, stored, uncompressed) < 0)
				break;
		}
	}
	sqfs_destroy(t);
}

void image_reuse_attach_writer(struct image_reuse *r, struct sqfs_writer *w)
{
	const char *now = sqfs_writer_settings(w), *then = layer_index_settings(r->idx);
	if (now[0] && streq(now, then)) {
		r->cache = sqfs_writer_block_cache(w);
		block_cache_set_source(r->cache, r->fd);
		offer_fragments(r);
		log_info("Reusing %zu layer(s) of the installed image %s: its compressed blocks as they are",
			 r->n_layers, r->name);
	} else
		log_info("Reusing %zu layer(s) of the installed image %s, built with other settings (%s; now %s): "
			 "compressing its files again",
			 r->n_layers, r->name, then[0] ? then : "unknown", now[0] ? now : "unknown");
}

/* How many of src's first layers are the index's (all of the index's or 0). */
static size_t matching_layers(const struct layer_index *idx, struct image_source *src)
{
	size_t n = layer_index_n_layers(idx);
	if (n == 0 || n > src->n_layers)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *d = src->layer_digest(src, i);
		if (!d || !streq(d, layer_index_digest(idx, i)))
			return 0;
	}
	return n;
}

int image_reuse_pick(const struct build_reuse *candidates, size_t n, struct image_source *src, struct image_reuse **ret)
{
	size_t best = SIZE_MAX, best_layers = 0;
	_cleanup_(layer_index_freep) struct layer_index *best_idx = NULL;
	*ret = NULL;
	for (size_t i = 0; i < n; i++) {
		struct layer_index *idx = NULL;
		int k = layer_index_open(candidates[i].index, &idx);
		if (k == -ENOENT) {
			log_info("The installed image %s has no layer index (installed by an older release): not "
				 "reusing it",
				 candidates[i].name);
			continue;
		}
		if (k == -ENOMEM)
			return k;
		if (k < 0)
			continue; /* logged */
		size_t m = matching_layers(idx, src);
		if (m == 0)
			log_info("The new image does not begin with the %zu layer(s) of the installed image %s",
				 layer_index_n_layers(idx), candidates[i].name);
		if (m > best_layers) {
			layer_index_free(TAKE_PTR(best_idx));
			best_idx = idx;
			best = i;
			best_layers = m;
		} else
			layer_index_free(idx);
	}
	if (best == SIZE_MAX)
		return 0;

	_cleanup_(image_reuse_freep) struct image_reuse *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->md = EVP_MD_CTX_new();
	if (!r->md)
		return -ENOMEM;
	r->inner = src;
	r->idx = TAKE_PTR(best_idx);
	r->n_layers = best_layers;
	r->name = candidates[best].name;
	r->image_path = strdup(candidates[best].image);
	if (!r->image_path)
		return -ENOMEM;
	int k = open_image(r);
	if (k == -ENOMEM)
		return k;
	if (k < 0)
		return 0; /* logged: a full build */
	for (size_t i = 0; i < r->n_layers; i++)
		r->bytes = add_sat_u64(r->bytes, src->layer_size(src, i));
	r->base = (struct image_source){
		.n_layers = src->n_layers,
		.open_layer = reuse_open_layer,
		.layer_digest = reuse_layer_digest,
		.layer_size = reuse_layer_size,
		.keep_layers = reuse_keep_layers,
		.walk_layer = reuse_walk_layer,
		.replayed_layers = r->n_layers,
		.userdata = r,
	};
	*ret = TAKE_PTR(r);
	return 0;
}
