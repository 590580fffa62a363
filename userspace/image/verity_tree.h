/* SPDX-License-Identifier: Apache-2.0 */
/* dm-verity (format 1, sha256, 4096-byte data and hash blocks) over an
 * image file: the hash tree appended after the data, behind a superblock laid
 * out exactly as `veritysetup format --hash-offset=BYTES` writes it, so that
 * `veritysetup verify --hash-offset=BYTES IMG IMG ROOT` and the kernel's
 * dm-verity (table `1 DEV DEV 4096 4096 DATA_BLOCKS HASH_START_BLOCK sha256
 * ROOT SALT`) accept it. File layout:
 *   [0, hash_offset)                      data (the squashfs, padded to 4096)
 *   hash_offset                           superblock (512 bytes, zero-padded to 4096)
 *   hash_start_block * 4096 ...           tree levels, the top (root's) level first
 * Streaming: memory is one hash block per level plus one read buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verity_record.h"

struct image_source;

/* 128-ary tree over at most 2^64 blocks: 10 levels; cryptsetup allows 63. */
#define VERITY_MAX_LEVELS 10u
/* What build_image uses: sha256("kairos verity salt v1" || the squashfs
 * superblock || its metadata tables). */
#define VERITY_SALT_SIZE 32u

/* The tree's shape for data_blocks (>= 1): n levels (0 for one data block:
 * the root hashes it directly); level 0 hashes data blocks; size[i] blocks
 * at start[i], counted in hash blocks from the first tree block (the top
 * level, n - 1, is first, as the kernel reads it). */
struct verity_levels {
	unsigned n;
	uint64_t start[VERITY_MAX_LEVELS];
	uint64_t size[VERITY_MAX_LEVELS];
	uint64_t total; /* tree blocks, superblock excluded */
};
int verity_tree_levels(uint64_t data_blocks, struct verity_levels *ret);

/* Computes the tree over [0, data_size) of fd (data_size a non-zero multiple
 * of 4096) with salt, and writes superblock and tree at hash_offset =
 * data_size (the file grows by 4096 * (1 + tree blocks)). The superblock's
 * UUID is derived from the salt, so the output depends on data and salt only.
 * Returns 0 and fills ret, or a negative errno (logged naming path). */
int verity_tree_write(int fd, const char *path, uint64_t data_size, const uint8_t *salt, size_t salt_size,
		      struct verity_record *ret);

/* build_image's salt: a function of the squashfs bytes only (its
 * superblock and metadata tables, which name every block of the image), so
 * every node building the same image gets the same root hash whatever the
 * transport it came by (a docker-archive's layer digests differ from a
 * registry's). -EBADMSG when the superblock does not place its tables
 * inside the image. */
int verity_salt_for_image(int fd, uint64_t image_bytes, uint8_t salt[VERITY_SALT_SIZE]);

/* build_image's hook, before its fsync: the tree of the squashfs image
 * (image_bytes, padded to 4096 by the writer) appended to fd, salted with
 * verity_salt_for_image(). */
int verity_tree_append_image(int fd, const char *path, uint64_t image_bytes, struct verity_record *ret);

/* The superblock (verity_superblock_parse() reads it, lib/verity_record.h). */
void verity_superblock_format(const struct verity_record *rec, uint8_t buf[VERITY_SUPERBLOCK_SIZE]);

/* Reads the superblock at expect->hash_offset and checks the tree from the
 * root down, then every data block against it. expect->root_hash is the
 * trust anchor; when expect->data_blocks is non-zero the superblock must also
 * carry the same data_blocks and salt (a .json record), else they are taken
 * from it (as veritysetup does). Returns 0: every block verified; -EBADMSG:
 * a block does not match, or the superblock is invalid or the file too short
 * for it; *first_bad_block is then the file's first bad 4096-byte block
 * (data blocks are 0..data_blocks-1, the superblock hash_offset / 4096),
 * logged saying which it is; other negative errnos for I/O. */
int verity_tree_verify(int fd, const char *path, const struct verity_record *expect, uint64_t *first_bad_block);
