/* SPDX-License-Identifier: Apache-2.0 */
#include "block_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "durable.h"
#include "util.h"

struct cached_block {
	uint8_t sha[32];
	uint64_t offset;
	uint32_t stored_size;
	bool uncompressed, used;
};

struct block_cache {
	pthread_mutex_t lock;
	unsigned refs;
	int fd;
	struct cached_block *slots; /* open addressing on the sha's first bytes */
	size_t n_slots, n_used;
	uint64_t offered, taken;
};

struct cached_compressor {
	sqfs_compressor_t base;
	sqfs_compressor_t *inner;
	struct block_cache *cache;
};

int block_cache_new(struct block_cache **ret)
{
	struct block_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return -ENOMEM;
	}
	c->refs = 1;
	c->fd = -1;
	*ret = c;
	return 0;
}

void block_cache_unref(struct block_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (!last)
		return;
	free(c->slots);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void block_cache_set_source(struct block_cache *c, int fd)
{
	pthread_mutex_lock(&c->lock);
	c->fd = fd;
	pthread_mutex_unlock(&c->lock);
}

static size_t slot_of(const struct block_cache *c, const uint8_t sha[32])
{
	uint64_t h;
	memcpy(&h, sha, sizeof(h)); /* a sha256 is as good a hash as any */
	return (size_t) h & (c->n_slots - 1);
}

static struct cached_block *find(const struct block_cache *c, const uint8_t sha[32])
{
	if (c->n_slots == 0)
		return NULL;
	for (size_t i = slot_of(c, sha);; i = (i + 1) & (c->n_slots - 1)) {
		struct cached_block *b = &c->slots[i];
		if (!b->used || memcmp(b->sha, sha, 32) == 0)
			return b;
	}
}

static int grow(struct block_cache *c)
{
	size_t n = c->n_slots ? c->n_slots * 2 : 1024;
	struct cached_block *old = c->slots;
	size_t old_n = c->n_slots;
	c->slots = calloc(n, sizeof(*c->slots));
	if (!c->slots) {
		c->slots = old;
		return -ENOMEM;
	}
	c->n_slots = n;
	for (size_t i = 0; i < old_n; i++)
		if (old[i].used)
			*find(c, old[i].sha) = old[i];
	free(old);
	return 0;
}

int block_cache_offer(struct block_cache *c, const uint8_t sha[32], uint64_t offset, uint32_t stored_size,
		      bool uncompressed)
{
	int r = 0;
	pthread_mutex_lock(&c->lock);
	if (c->n_used >= BLOCK_CACHE_MAX)
		goto out;
	if ((c->n_used + 1) * 2 > c->n_slots && (r = grow(c)) < 0)
		goto out;
	struct cached_block *b = find(c, sha);
	if (!b->used) {
		*b = (struct cached_block){
			.offset = offset, .stored_size = stored_size, .uncompressed = uncompressed, .used = true
		};
		memcpy(b->sha, sha, 32);
		c->n_used++;
		c->offered++;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

void block_cache_counts(struct block_cache *c, uint64_t *offered, uint64_t *taken)
{
	pthread_mutex_lock(&c->lock);
	*offered = c->offered;
	*taken = c->taken;
	pthread_mutex_unlock(&c->lock);
}

/* 1 with the stored form in out (its size in *ret), 0 when not cached or
 * when it does not read back (then it is compressed as usual). */
static int take(struct block_cache *c, const uint8_t *in, size_t size, uint8_t *out, size_t outsize, sqfs_s32 *ret)
{
	uint8_t sha[32];
	unsigned len = 0;
	pthread_mutex_lock(&c->lock);
	bool any = c->n_used > 0 && c->fd >= 0;
	pthread_mutex_unlock(&c->lock);
	if (!any || EVP_Digest(in, size, sha, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return 0;
	pthread_mutex_lock(&c->lock);
	struct cached_block *p = find(c, sha), b = p ? *p : (struct cached_block){ 0 };
	int fd = c->fd;
	pthread_mutex_unlock(&c->lock);
	if (!b.used)
		return 0;
	if (b.uncompressed) {
		if (b.stored_size != size)
			return 0;
		*ret = 0; /* "does not shrink": the processor stores it as it is */
	} else {
		if (b.stored_size == 0 || b.stored_size > outsize ||
		    pread_full(fd, out, b.stored_size, b.offset) != (ssize_t) b.stored_size)
			return 0;
		*ret = (sqfs_s32) b.stored_size;
	}
	pthread_mutex_lock(&c->lock);
	c->taken++;
	pthread_mutex_unlock(&c->lock);
	return 1;
}

static sqfs_s32 cached_do_block(sqfs_compressor_t *base, const sqfs_u8 *in, sqfs_u32 size, sqfs_u8 *out,
				sqfs_u32 outsize)
{
	struct cached_compressor *cc = (struct cached_compressor *) base;
	sqfs_s32 r;
	if (take(cc->cache, in, size, out, outsize, &r))
		return r;
	return cc->inner->do_block(cc->inner, in, size, out, outsize);
}

static void cached_get_configuration(const sqfs_compressor_t *base, sqfs_compressor_config_t *cfg)
{
	const struct cached_compressor *cc = (const struct cached_compressor *) base;
	cc->inner->get_configuration(cc->inner, cfg);
}

static int cached_write_options(sqfs_compressor_t *base, sqfs_file_t *file)
{
	struct cached_compressor *cc = (struct cached_compressor *) base;
	return cc->inner->write_options(cc->inner, file);
}

static int cached_read_options(sqfs_compressor_t *base, sqfs_file_t *file)
{
	struct cached_compressor *cc = (struct cached_compressor *) base;
	return cc->inner->read_options(cc->inner, file);
}

static void cached_destroy(sqfs_object_t *obj)
{
	struct cached_compressor *cc = (struct cached_compressor *) obj;
	sqfs_destroy(cc->inner);
	block_cache_unref(cc->cache);
	free(cc);
}

static sqfs_object_t *cached_copy(const sqfs_object_t *obj)
{
	const struct cached_compressor *cc = (const struct cached_compressor *) obj;
	sqfs_compressor_t *inner = sqfs_copy(cc->inner);
	if (!inner)
		return NULL;
	sqfs_compressor_t *copy = block_cache_wrap(cc->cache, inner);
	if (!copy)
		sqfs_destroy(inner);
	return (sqfs_object_t *) copy;
}

sqfs_compressor_t *block_cache_wrap(struct block_cache *c, sqfs_compressor_t *inner)
{
	struct cached_compressor *cc = calloc(1, sizeof(*cc));
	if (!cc)
		return NULL;
	cc->base = (sqfs_compressor_t){
		.base = { .destroy = cached_destroy, .copy = cached_copy },
		.get_configuration = cached_get_configuration,
		.write_options = cached_write_options,
		.read_options = cached_read_options,
		.do_block = cached_do_block,
	};
	cc->inner = inner;
	cc->cache = c;
	pthread_mutex_lock(&c->lock);
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	return &cc->base;
}
