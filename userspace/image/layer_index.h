/* SPDX-License-Identifier: Apache-2.0 */
/* An image's layer index: the tar entries of each of its layers, in order,
 * and for each file of the image the entry whose data it holds and where
 * that file is in the squashfs. Written beside the image by the build, it
 * lets a later image whose layers begin with these (a Dockerfile FROM this
 * release) replay them without downloading them again (image_reuse.h).
 *
 * The file (all integers little-endian):
 *   "KAIROSIX" u32 version
 *   per layer: one zstd frame of entry records
 *   one zstd frame of file records, in (layer, ordinal) order
 *   the trailer: u32 n_layers, u32 settings length, settings, and per layer
 *     u32 digest length, digest, u64 frame offset, u64 frame length,
 *     u64 entries; then u64 offset, u64 length, u64 count of the file frame
 *   the footer: u64 trailer offset, sha256 of every byte before the footer
 * An entry record: varint-prefixed path; varints mode, uid, gid, mtime
 * (zigzag), rdev, size; the symlink and hard link targets as a varint
 * length + 1 (0: none) and bytes; a varint count of xattrs, each a
 * varint-prefixed key and value. A file record: varints layer, ordinal,
 * inode reference, size.
 *
 * Read from a disk: the footer's sha256 is checked before anything is
 * parsed, and every count and length is bounded. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "flatten.h"

#define LAYER_INDEX_VERSION 1
/* Bounds a reader holds an index to (a writer never needs more). */
#define LAYER_INDEX_LAYERS_MAX 1024
#define LAYER_INDEX_DIGEST_MAX 256
#define LAYER_INDEX_SETTINGS_MAX 1024
#define LAYER_INDEX_XATTR_KEY_MAX 255
#define LAYER_INDEX_XATTR_VALUE_MAX 65536
#define LAYER_INDEX_XATTRS_MAX 256

struct layer_index_writer;

/* Start the index that will be renamed to path by layer_index_commit(): a
 * ".tmp-" file beside it until then. */
int layer_index_writer_new(const char *path, struct layer_index_writer **ret);
/* Removes the temporary file unless committed. */
void layer_index_writer_free(struct layer_index_writer *w);
static inline void layer_index_writer_freep(struct layer_index_writer **w)
{
	if (*w)
		layer_index_writer_free(*w);
}
int layer_index_begin_layer(struct layer_index_writer *w, const char *digest);
int layer_index_add_entry(struct layer_index_writer *w, const struct flatten_entry *e);
/* After the last layer, in (layer, ordinal) order. */
int layer_index_add_file(struct layer_index_writer *w, uint32_t layer, uint64_t ordinal, uint64_t inode_ref,
			 uint64_t size, const uint8_t sha256[32]);
/* settings: what made the image's blocks (image_reuse.h compares them).
 * Trailer, footer, fsync, rename, fsync of the directory. */
int layer_index_commit(struct layer_index_writer *w, const char *settings);

/* A file's recorded sha256 counts holes as zeros: n of them into md, for
 * the build that records it and the replay that checks it alike. 0 or
 * -EIO. */
int layer_index_hash_zeros(EVP_MD_CTX *md, uint64_t n);

struct layer_index;
struct layer_index_file {
	uint32_t layer;
	uint64_t ordinal;
	uint64_t inode_ref;
	uint64_t size;
	uint8_t sha256[32]; /* of its data */
};

/* Open and check an index (its sha256, its trailer, its file records,
 * loaded in memory). -EBADMSG (logged, naming the file and the problem)
 * for anything that is not a well-formed index, -ENOENT when missing. */
int layer_index_open(const char *path, struct layer_index **ret);
/* The same from memory (fuzzing): data is copied. */
int layer_index_open_memory(const void *data, size_t size, struct layer_index **ret);
void layer_index_free(struct layer_index *idx);
static inline void layer_index_freep(struct layer_index **idx)
{
	if (*idx)
		layer_index_free(*idx);
}
size_t layer_index_n_layers(const struct layer_index *idx);
const char *layer_index_digest(const struct layer_index *idx, size_t layer);
const char *layer_index_settings(const struct layer_index *idx);
/* The file whose data entry (layer, ordinal) holds, or NULL. */
const struct layer_index_file *layer_index_find_file(const struct layer_index *idx, uint32_t layer, uint64_t ordinal);

/* The entries of one layer, in order. */
struct layer_index_cursor;
int layer_index_cursor_open(struct layer_index *idx, size_t layer, struct layer_index_cursor **ret);
/* 1 with *e filled in (valid until the next call), 0 after the last,
 * -EBADMSG (logged) for a malformed record. */
int layer_index_cursor_next(struct layer_index_cursor *c, struct flatten_entry *e);
void layer_index_cursor_free(struct layer_index_cursor *c);
static inline void layer_index_cursor_freep(struct layer_index_cursor **c)
{
	if (*c)
		layer_index_cursor_free(*c);
}
