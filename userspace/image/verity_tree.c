/* SPDX-License-Identifier: Apache-2.0 */
/* dm-verity format 1 hash trees: written streaming after an image, read
 * back and checked block by block (see verity_tree.h for the layout). */
#include "verity_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_source.h"
#include "durable.h"
#include "log.h"
#include "util.h"

/* Data read per pread: 256 blocks. */
#define READ_BLOCKS 256u
#define READ_AHEAD_BATCHES 4u /* 4 MiB ahead of the hashing */
#define SALT_LABEL "kairos verity salt v1"
#define UUID_LABEL "kairos verity uuid v1"

int verity_tree_levels(uint64_t data_blocks, struct verity_levels *ret)
{
	*ret = (struct verity_levels){ 0 };
	if (data_blocks == 0)
		return -EINVAL;
	/* As the kernel counts them: the fewest levels whose top is one block. */
	unsigned n = 0;
	while (7 * n < 64 && ((data_blocks - 1) >> (7 * n)) != 0)
		n++;
	if (n > VERITY_MAX_LEVELS)
		return -EINVAL;
	uint64_t pos = 0;
	for (unsigned i = n; i-- > 0;) {
		unsigned shift = 7 * (i + 1);
		uint64_t size = shift >= 64 ? 1 : (data_blocks >> shift) + ((data_blocks & ((1ull << shift) - 1)) != 0);
		ret->start[i] = pos;
		ret->size[i] = size;
		pos += size;
	}
	ret->n = n;
	ret->total = pos;
	return 0;
}

/* sha256(salt || block), the salt absorbed once. */
struct hasher {
	EVP_MD_CTX *base, *work;
};

static void hasher_done(struct hasher *h)
{
	EVP_MD_CTX_free(h->base);
	EVP_MD_CTX_free(h->work);
}

static int hasher_init(struct hasher *h, const uint8_t *salt, size_t salt_size)
{
	h->base = EVP_MD_CTX_new();
	h->work = EVP_MD_CTX_new();
	if (!h->base || !h->work)
		return -ENOMEM;
	if (EVP_DigestInit_ex(h->base, EVP_sha256(), NULL) != 1 ||
	    (salt_size > 0 && EVP_DigestUpdate(h->base, salt, salt_size) != 1))
		return -EIO;
	return 0;
}

static int hash_block(struct hasher *h, const void *block, uint8_t out[VERITY_DIGEST_SIZE])
{
	unsigned len = 0;
	if (EVP_MD_CTX_copy_ex(h->work, h->base) != 1 || EVP_DigestUpdate(h->work, block, VERITY_BLOCK_SIZE) != 1 ||
	    EVP_DigestFinal_ex(h->work, out, &len) != 1 || len != VERITY_DIGEST_SIZE)
		return -EIO;
	return 0;
}

static int sha256_parts(const void *a, size_t na, const void *b, size_t nb, uint8_t out[VERITY_DIGEST_SIZE])
{
	unsigned len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, a, na) == 1 &&
		 (nb == 0 || EVP_DigestUpdate(md, b, nb) == 1) && EVP_DigestFinal_ex(md, out, &len) == 1;
	EVP_MD_CTX_free(md);
	return ok && len == VERITY_DIGEST_SIZE ? 0 : -EIO;
}

/* Exactly size bytes at offset: -ENODATA when the file ends first. */
static int pread_all(int fd, void *buf, size_t size, uint64_t offset)
{
	ssize_t n = pread_full(fd, buf, size, offset);
	return n < 0 ? (int) n : (size_t) n < size ? -ENODATA : 0;
}

void verity_superblock_format(const struct verity_record *rec, uint8_t buf[VERITY_SUPERBLOCK_SIZE])
{
	uint8_t uuid[VERITY_DIGEST_SIZE];
	memset(buf, 0, VERITY_SUPERBLOCK_SIZE);
	memcpy(buf, verity_sb_signature, sizeof(verity_sb_signature));
	verity_put_le32(buf + VERITY_SB_VERSION, 1);
	verity_put_le32(buf + VERITY_SB_HASH_TYPE, 1);
	/* Deterministic: the same data and salt give the same bytes. RFC 4122
	 * version 4 and variant bits, so tools print it as any other. */
	if (sha256_parts(UUID_LABEL, strlen(UUID_LABEL), rec->salt, rec->salt_size, uuid) < 0)
		memset(uuid, 0, sizeof(uuid));
	uuid[6] = (uint8_t) ((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t) ((uuid[8] & 0x3f) | 0x80);
	memcpy(buf + VERITY_SB_UUID, uuid, 16);
	memcpy(buf + VERITY_SB_ALGORITHM, verity_sb_algorithm, sizeof(verity_sb_algorithm));
	verity_put_le32(buf + VERITY_SB_DATA_BLOCK_SIZE, VERITY_BLOCK_SIZE);
	verity_put_le32(buf + VERITY_SB_HASH_BLOCK_SIZE, VERITY_BLOCK_SIZE);
	verity_put_le32(buf + VERITY_SB_DATA_BLOCKS, (uint32_t) rec->data_blocks);
	verity_put_le32(buf + VERITY_SB_DATA_BLOCKS + 4, (uint32_t) (rec->data_blocks >> 32));
	buf[VERITY_SB_SALT_SIZE] = (uint8_t) rec->salt_size;
	buf[VERITY_SB_SALT_SIZE + 1] = (uint8_t) (rec->salt_size >> 8);
	memcpy(buf + VERITY_SB_SALT, rec->salt, rec->salt_size);
}

/* The tree being written: one partial hash block per level. */
struct builder {
	int fd;
	struct hasher h;
	struct verity_levels lv;
	uint64_t tree_offset;
	uint8_t (*level)[VERITY_BLOCK_SIZE];
	unsigned fill[VERITY_MAX_LEVELS];
	uint64_t written[VERITY_MAX_LEVELS];
	uint8_t root[VERITY_DIGEST_SIZE];
};

static int push_digest(struct builder *b, unsigned i, const uint8_t digest[VERITY_DIGEST_SIZE]);

/* Level i's block is complete (or the last, zero-padded): written where the
 * kernel looks for it, and its digest goes one level up (or is the root). */
static int flush_level(struct builder *b, unsigned i)
{
	uint8_t digest[VERITY_DIGEST_SIZE];
	memset(b->level[i] + (size_t) b->fill[i] * VERITY_DIGEST_SIZE, 0,
	       VERITY_BLOCK_SIZE - (size_t) b->fill[i] * VERITY_DIGEST_SIZE);
	if (b->written[i] >= b->lv.size[i])
		return -EIO; /* cannot happen: the levels were sized for the data */
	int r = pwrite_all(b->fd, b->level[i], VERITY_BLOCK_SIZE,
			   b->tree_offset + (b->lv.start[i] + b->written[i]) * VERITY_BLOCK_SIZE);
	if (r < 0)
		return r;
	b->written[i]++;
	b->fill[i] = 0;
	r = hash_block(&b->h, b->level[i], digest);
	if (r < 0)
		return r;
	if (i + 1 == b->lv.n) {
		memcpy(b->root, digest, sizeof(digest));
		return 0;
	}
	return push_digest(b, i + 1, digest);
}

static int push_digest(struct builder *b, unsigned i, const uint8_t digest[VERITY_DIGEST_SIZE])
{
	memcpy(b->level[i] + (size_t) b->fill[i] * VERITY_DIGEST_SIZE, digest, VERITY_DIGEST_SIZE);
	if (++b->fill[i] == VERITY_HASHES_PER_BLOCK)
		return flush_level(b, i);
	return 0;
}

static int build_tree(struct builder *b, uint64_t data_blocks, uint8_t *buf)
{
	uint8_t digest[VERITY_DIGEST_SIZE];
	int r;
	for (uint64_t blk = 0; blk < data_blocks;) {
		uint64_t n = data_blocks - blk < READ_BLOCKS ? data_blocks - blk : READ_BLOCKS;
		r = pread_all(b->fd, buf, (size_t) n * VERITY_BLOCK_SIZE, blk * VERITY_BLOCK_SIZE);
		if (r < 0)
			return r;
		for (uint64_t k = 0; k < n; k++) {
			r = hash_block(&b->h, buf + k * VERITY_BLOCK_SIZE, digest);
			if (r < 0)
				return r;
			if (b->lv.n == 0) {
				memcpy(b->root, digest, sizeof(digest)); /* one block: the root is its hash */
				continue;
			}
			r = push_digest(b, 0, digest);
			if (r < 0)
				return r;
		}
		blk += n;
	}
	for (unsigned i = 0; i < b->lv.n; i++)
		if (b->fill[i] > 0 && (r = flush_level(b, i)) < 0)
			return r;
	for (unsigned i = 0; i < b->lv.n; i++)
		if (b->written[i] != b->lv.size[i])
			return -EIO;
	return 0;
}

int verity_tree_write(int fd, const char *path, uint64_t data_size, const uint8_t *salt, size_t salt_size,
		      struct verity_record *ret)
{
	struct builder b = { .fd = fd };
	_cleanup_free_ uint8_t *buf = NULL;
	int r;

	if (salt_size > VERITY_SALT_MAX)
		return log_error_errno(-EINVAL, "%s: a verity salt of %zu bytes (at most 256)", path, salt_size);
	if (data_size == 0 || data_size % VERITY_BLOCK_SIZE != 0)
		return log_error_errno(-EINVAL, "%s: cannot hash %" PRIu64 " bytes (not a non-zero multiple of 4096)",
				       path, data_size);
	struct verity_record rec = {
		.salt_size = salt_size,
		.hash_offset = data_size,
		.data_blocks = data_size / VERITY_BLOCK_SIZE,
		.hash_start_block = verity_hash_start_block(data_size),
	};
	memcpy(rec.salt, salt, salt_size);
	r = verity_tree_levels(rec.data_blocks, &b.lv);
	if (r < 0)
		return log_error_errno(r, "%s: no hash tree for %" PRIu64 " blocks", path, rec.data_blocks);
	b.tree_offset = rec.hash_start_block * VERITY_BLOCK_SIZE;
	buf = malloc((size_t) READ_BLOCKS * VERITY_BLOCK_SIZE);
	b.level = calloc(b.lv.n ? b.lv.n : 1, VERITY_BLOCK_SIZE);
	r = buf && b.level ? hasher_init(&b.h, salt, salt_size) : -ENOMEM;
	if (r >= 0)
		r = build_tree(&b, rec.data_blocks, buf);
	if (r >= 0) {
		/* The superblock last: a tree cut short has none. */
		memset(buf, 0, VERITY_BLOCK_SIZE);
		verity_superblock_format(&rec, buf);
		r = pwrite_all(fd, buf, VERITY_BLOCK_SIZE, rec.hash_offset);
	}
	hasher_done(&b.h);
	free(b.level);
	if (r == -ENODATA)
		return log_error_errno(-EIO, "%s: shorter than the %" PRIu64 " bytes to hash", path, data_size);
	if (r == -ENOSPC || r == -EDQUOT)
		return log_error_errno(r,
				       "Disk full writing %s: %" PRIu64 " bytes written, the verity hash tree "
				       "needs %" PRIu64 " more",
				       path, data_size, (1 + b.lv.total) * (uint64_t) VERITY_BLOCK_SIZE);
	if (r < 0)
		return log_error_errno(r, "%s: cannot write the verity hash tree: %m", path);
	memcpy(rec.root_hash, b.root, sizeof(b.root));
	*ret = rec;
	return 0;
}

/* The squashfs superblock's inode_table_start (little-endian at byte 64):
 * the metadata tables run from there to the end of the image. */
#define SQFS_SUPER_SIZE 96u
#define SQFS_INODE_TABLE_START_AT 64u

int verity_salt_for_image(int fd, uint64_t image_bytes, uint8_t salt[VERITY_SALT_SIZE])
{
	uint8_t super[SQFS_SUPER_SIZE], buf[64 * 1024];
	if (image_bytes < SQFS_SUPER_SIZE || pread_full(fd, super, sizeof(super), 0) != (ssize_t) sizeof(super))
		return -EIO;
	uint64_t tables = 0;
	for (unsigned i = 0; i < 8; i++)
		tables |= (uint64_t) super[SQFS_INODE_TABLE_START_AT + i] << (8 * i);
	if (tables < SQFS_SUPER_SIZE || tables > image_bytes)
		return -EBADMSG;
	unsigned len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, SALT_LABEL, strlen(SALT_LABEL)) == 1 &&
		 EVP_DigestUpdate(md, super, sizeof(super)) == 1;
	for (uint64_t at = tables; ok && at < image_bytes;) {
		size_t want = image_bytes - at < sizeof(buf) ? (size_t) (image_bytes - at) : sizeof(buf);
		ok = pread_full(fd, buf, want, at) == (ssize_t) want && EVP_DigestUpdate(md, buf, want) == 1;
		at += want;
	}
	ok = ok && EVP_DigestFinal_ex(md, salt, &len) == 1 && len == VERITY_SALT_SIZE;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -EIO;
}

int verity_tree_append_image(int fd, const char *path, uint64_t image_bytes, struct verity_record *ret)
{
	uint8_t salt[VERITY_SALT_SIZE];
	if (image_bytes % VERITY_BLOCK_SIZE != 0)
		return log_error_errno(-EINVAL, "%s: the image (%" PRIu64 " bytes) is not padded to 4096 bytes", path,
				       image_bytes);
	int r = verity_salt_for_image(fd, image_bytes, salt);
	if (r < 0)
		return log_error_errno(r, "%s: cannot derive the verity salt: %m", path);
	return verity_tree_write(fd, path, image_bytes, salt, sizeof(salt), ret);
}

/* What verify reads: the tree's parents one block at a time. */
struct checker {
	int fd;
	const char *path;
	struct hasher h;
	struct verity_levels lv;
	uint64_t data_blocks;
	uint64_t tree_offset;
	uint8_t parent[VERITY_BLOCK_SIZE];
	uint64_t parent_index; /* UINT64_MAX: none loaded */
	uint64_t *first_bad;
};

static uint64_t tree_file_block(const struct checker *c, unsigned level, uint64_t index)
{
	return c->tree_offset / VERITY_BLOCK_SIZE + c->lv.start[level] + index;
}

static int bad_block(struct checker *c, uint64_t file_block, const char *what)
{
	*c->first_bad = file_block;
	return log_error_errno(-EBADMSG, "%s: block %" PRIu64 " (byte %" PRIu64 ") is corrupt: %s", c->path, file_block,
			       file_block * VERITY_BLOCK_SIZE, what);
}

/* Parent block pi of level p (verified already), and its unused tail zero
 * (veritysetup checks that too). */
static int load_parent(struct checker *c, unsigned p, uint64_t pi, uint64_t n_children)
{
	if (c->parent_index == pi)
		return 0;
	c->parent_index = UINT64_MAX;
	int r = pread_all(c->fd, c->parent, VERITY_BLOCK_SIZE,
			  c->tree_offset + (c->lv.start[p] + pi) * VERITY_BLOCK_SIZE);
	if (r < 0)
		return r;
	uint64_t used = n_children - pi * VERITY_HASHES_PER_BLOCK;
	if (used < VERITY_HASHES_PER_BLOCK)
		for (size_t k = (size_t) used * VERITY_DIGEST_SIZE; k < VERITY_BLOCK_SIZE; k++)
			if (c->parent[k] != 0)
				return bad_block(c, tree_file_block(c, p, pi), "hash block's unused area is not zero");
	c->parent_index = pi;
	return 0;
}

/* The children of level p (level p - 1's blocks, or the data for p = 0)
 * against their digests in level p. */
static int check_children(struct checker *c, unsigned p, uint8_t *buf)
{
	bool data = p == 0;
	uint64_t n = data ? c->data_blocks : c->lv.size[p - 1];
	uint8_t digest[VERITY_DIGEST_SIZE];
	int r;
	c->parent_index = UINT64_MAX;
	for (uint64_t k = 0; k < n;) {
		uint64_t batch = data ? (n - k < READ_BLOCKS ? n - k : READ_BLOCKS) : 1;
		uint64_t offset =
			data ? k * VERITY_BLOCK_SIZE : c->tree_offset + (c->lv.start[p - 1] + k) * VERITY_BLOCK_SIZE;
		/* The kernel reads the next batches while this one is hashed, as
		 * dm-verity's own reads overlap its hashing: a scrub then takes
		 * about the longer of the two, not their sum. Only a hint. */
		if (data)
			(void) posix_fadvise(c->fd, (off_t) (offset + batch * VERITY_BLOCK_SIZE),
					     (off_t) READ_AHEAD_BATCHES * READ_BLOCKS * VERITY_BLOCK_SIZE,
					     POSIX_FADV_WILLNEED);
		r = pread_all(c->fd, buf, (size_t) batch * VERITY_BLOCK_SIZE, offset);
		if (r < 0)
			return r;
		for (uint64_t j = 0; j < batch; j++, k++) {
			r = load_parent(c, p, k / VERITY_HASHES_PER_BLOCK, n);
			if (r < 0)
				return r;
			r = hash_block(&c->h, buf + j * VERITY_BLOCK_SIZE, digest);
			if (r < 0)
				return r;
			if (memcmp(digest, c->parent + (k % VERITY_HASHES_PER_BLOCK) * VERITY_DIGEST_SIZE,
				   VERITY_DIGEST_SIZE) == 0)
				continue;
			if (data)
				return bad_block(c, k, "data block does not match its hash");
			return bad_block(c, tree_file_block(c, p - 1, k), "hash tree block does not match its hash");
		}
	}
	return 0;
}

static int check_tree(struct checker *c, const uint8_t root[VERITY_DIGEST_SIZE], uint8_t *buf)
{
	uint8_t digest[VERITY_DIGEST_SIZE];
	/* The top block (or the only data block) against the root hash. */
	bool direct = c->lv.n == 0;
	uint64_t top = direct ? 0 : tree_file_block(c, c->lv.n - 1, 0);
	int r = pread_all(c->fd, buf, VERITY_BLOCK_SIZE, top * VERITY_BLOCK_SIZE);
	if (r >= 0)
		r = hash_block(&c->h, buf, digest);
	if (r < 0)
		return r;
	if (memcmp(digest, root, VERITY_DIGEST_SIZE) != 0)
		return bad_block(c, top,
				 direct ? "data block does not match the root hash"
					: "top hash block does not match the root hash");
	/* Then each level from the top down, the data last. */
	for (unsigned p = c->lv.n; p-- > 0;) {
		r = check_children(c, p, buf);
		if (r < 0)
			return r;
	}
	return 0;
}

int verity_tree_verify(int fd, const char *path, const struct verity_record *expect, uint64_t *first_bad_block)
{
	struct checker c = { .fd = fd, .path = path, .first_bad = first_bad_block };
	struct verity_record sb;
	struct stat st;
	const char *why;
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t sb_block = expect->hash_offset / VERITY_BLOCK_SIZE;
	int r;

	*first_bad_block = UINT64_MAX;
	if (fstat(fd, &st) < 0)
		return log_error_errno(negative_errno(), "Cannot stat %s: %m", path);
	uint64_t file_size = (uint64_t) st.st_size;
	if (expect->hash_offset > file_size || file_size - expect->hash_offset < VERITY_BLOCK_SIZE) {
		*first_bad_block = file_size / VERITY_BLOCK_SIZE;
		return log_error_errno(-EBADMSG,
				       "%s: truncated: %" PRIu64 " bytes, its verity superblock is at byte %" PRIu64,
				       path, file_size, expect->hash_offset);
	}
	buf = malloc((size_t) READ_BLOCKS * VERITY_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	r = pread_all(fd, buf, VERITY_SUPERBLOCK_SIZE, expect->hash_offset);
	if (r < 0)
		return log_error_errno(r == -ENODATA ? -EIO : r, "Cannot read %s: %m", path);
	if (verity_superblock_parse(buf, VERITY_SUPERBLOCK_SIZE, expect->hash_offset, &sb, &why) < 0) {
		*first_bad_block = sb_block;
		return log_error_errno(-EBADMSG, "%s: block %" PRIu64 " (byte %" PRIu64 ") is corrupt: %s", path,
				       sb_block, expect->hash_offset, why);
	}
	if (expect->data_blocks != 0 && (sb.data_blocks != expect->data_blocks || sb.salt_size != expect->salt_size ||
					 memcmp(sb.salt, expect->salt, sb.salt_size) != 0)) {
		*first_bad_block = sb_block;
		return log_error_errno(-EBADMSG,
				       "%s: block %" PRIu64 " (byte %" PRIu64
				       ") is corrupt: the verity superblock's data blocks or salt differ from the "
				       "image's record",
				       path, sb_block, expect->hash_offset);
	}
	c.data_blocks = sb.data_blocks;
	c.tree_offset = sb.hash_start_block * VERITY_BLOCK_SIZE;
	r = verity_tree_levels(sb.data_blocks, &c.lv);
	if (r < 0)
		return log_error_errno(-EBADMSG, "%s: no hash tree for %" PRIu64 " blocks", path, sb.data_blocks);
	/* Bounded by the superblock check: data_blocks <= hash_offset / 4096. */
	uint64_t end = c.tree_offset + c.lv.total * VERITY_BLOCK_SIZE;
	if (end > file_size) {
		*first_bad_block = file_size / VERITY_BLOCK_SIZE;
		return log_error_errno(-EBADMSG,
				       "%s: truncated: %" PRIu64 " bytes, its verity hash tree ends at byte %" PRIu64,
				       path, file_size, end);
	}
	r = hasher_init(&c.h, sb.salt, sb.salt_size);
	if (r >= 0)
		r = check_tree(&c, expect->root_hash, buf);
	hasher_done(&c.h);
	if (r == -ENODATA) {
		/* Shrunk while being read. */
		*first_bad_block = file_size / VERITY_BLOCK_SIZE;
		return log_error_errno(-EBADMSG, "%s: truncated while being read", path);
	}
	if (r < 0 && r != -EBADMSG)
		return log_error_errno(r, "Cannot read %s: %m", path);
	return r;
}
