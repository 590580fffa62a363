/* SPDX-License-Identifier: Apache-2.0 */
/* Serialize a flattened fs_tree into a squashfs image with libsquashfs.
 * File data is streamed in first (through the block processor and its
 * worker threads), the metadata tables are written at the end. */
#pragma once

#include <stdint.h>

#include "build_options.h"
#include "fs_tree.h"

struct sqfs_writer;

/* Start an image on fd (an empty file opened for writing and reading);
 * path is only for messages. Writes the superblock placeholder and the
 * compressor options. */
int sqfs_writer_new(int fd, const char *path, const struct build_options *opts, struct sqfs_writer **ret);
/* The compressor opts give ("zstd", "xz", "gzip", "lz4") and the level in
 * effect (the library's default when opts leave it to it). */
int sqfs_writer_compressor(const struct build_options *opts, const char **ret_name, unsigned *ret_level);
/* The data of one regular file, in order; the block processor fills in
 * inode->sqfs_inode. */
int sqfs_writer_begin_file(struct sqfs_writer *w, struct fs_inode *inode);
int sqfs_writer_append(struct sqfs_writer *w, const void *data, size_t size);
int sqfs_writer_end_file(struct sqfs_writer *w);
/* Flush the data, write the inode, directory, fragment, id and xattr
 * tables and the final superblock. Does not fsync. */
int sqfs_writer_finish(struct sqfs_writer *w, struct fs_tree *tree, uint64_t *ret_entries);
uint64_t sqfs_writer_bytes_written(const struct sqfs_writer *w);
/* What makes w's data blocks, as a string: two images whose strings are
 * equal store equal blocks alike. "" when w's compressor is not one whose
 * blocks may be reused. */
const char *sqfs_writer_settings(const struct sqfs_writer *w);
/* Where blocks of an installed image built with the same settings are
 * offered: the processor takes them instead of compressing (block_cache.h). */
struct block_cache *sqfs_writer_block_cache(const struct sqfs_writer *w);
void sqfs_writer_free(struct sqfs_writer *w);
static inline void sqfs_writer_freep(struct sqfs_writer **w)
{
	if (*w)
		sqfs_writer_free(*w);
}
