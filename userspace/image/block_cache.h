/* SPDX-License-Identifier: Apache-2.0 */
/* Compressed blocks of an installed image, handed back to the block
 * processor instead of compressing the same bytes again: a block's stored
 * form is a function of its bytes and the compressor's settings, so when
 * the settings are the same, the stored bytes are what compressing would
 * give, and the image comes out byte-identical, several times faster.
 * Blocks are matched by the sha256 of their uncompressed bytes; their
 * stored bytes are read from the installed image when taken. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <sqfs/compressor.h>

/* Past this many blocks offered, more are not kept (only slower). */
#define BLOCK_CACHE_MAX (4u * 1024 * 1024)

struct block_cache;

int block_cache_new(struct block_cache **ret);
/* Drops the caller's reference (compressors made by block_cache_wrap()
 * hold their own). */
void block_cache_unref(struct block_cache *c);

/* A compressor that looks in c before compressing with inner (which it
 * then owns); it holds a reference to c, as do its copies (one per worker
 * thread). NULL when out of memory (inner is then the caller's still). */
sqfs_compressor_t *block_cache_wrap(struct block_cache *c, sqfs_compressor_t *inner);

/* Where offered blocks are stored: an fd open for reading (the
 * installed image), which the caller keeps open while c is in use. */
void block_cache_set_source(struct block_cache *c, int fd);
/* A block whose uncompressed bytes hash to sha is stored at offset in the
 * source, stored_size bytes, compressed, or as it is when uncompressed
 * (the compressor could not shrink it). */
int block_cache_offer(struct block_cache *c, const uint8_t sha[32], uint64_t offset, uint32_t stored_size,
		      bool uncompressed);
/* Blocks offered and blocks taken, for the build's summary. */
void block_cache_counts(struct block_cache *c, uint64_t *offered, uint64_t *taken);
