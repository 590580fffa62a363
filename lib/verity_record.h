/* SPDX-License-Identifier: Apache-2.0 */
/* What a dm-verity (format 1, sha256, 4096-byte blocks) image is checked
 * with, and the superblock cryptsetup writes before its tree: shared by the
 * builder and verifier (userspace/image/verity_tree.c) and by kairos-boot,
 * which reads the salt from the superblock and sets the tree up with the
 * kernel (initrd/dm_verity.c). No crypto here: lib/ is linked by both. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VERITY_BLOCK_SIZE 4096u
#define VERITY_DIGEST_SIZE 32u /* sha256 */
#define VERITY_HASHES_PER_BLOCK (VERITY_BLOCK_SIZE / VERITY_DIGEST_SIZE)
#define VERITY_SALT_MAX 256u /* the superblock's salt field */
#define VERITY_SUPERBLOCK_SIZE 512u
/* The superblock's fields (cryptsetup's struct verity_sb, little endian). */
#define VERITY_SB_VERSION 8
#define VERITY_SB_HASH_TYPE 12
#define VERITY_SB_UUID 16
#define VERITY_SB_ALGORITHM 32
#define VERITY_SB_DATA_BLOCK_SIZE 64
#define VERITY_SB_HASH_BLOCK_SIZE 68
#define VERITY_SB_DATA_BLOCKS 72
#define VERITY_SB_SALT_SIZE 80
#define VERITY_SB_SALT 88
extern const uint8_t verity_sb_signature[8];
extern const uint8_t verity_sb_algorithm[32];

struct verity_record {
	uint8_t root_hash[VERITY_DIGEST_SIZE];
	uint8_t salt[VERITY_SALT_MAX];
	size_t salt_size;
	uint64_t hash_offset;      /* bytes: where the superblock is (= data_blocks * 4096 when we write it) */
	uint64_t data_blocks;      /* 0: no record (an image installed before verity) */
	uint64_t hash_start_block; /* the kernel table's: first tree block, in 4096-byte blocks */
};

/* The kernel table's hash start block for a superblock at hash_offset
 * (the superblock takes one hash block). */
uint64_t verity_hash_start_block(uint64_t hash_offset);

/* The superblock at hash_offset (a multiple of 4096), untrusted: signature,
 * version 1, hash type 1, "sha256", 4096/4096, salt size <= 256, 1 <=
 * data_blocks <= hash_offset / 4096 (the data ends before the superblock;
 * this bounds the tree too). Fills salt, data_blocks, hash_offset,
 * hash_start_block (not root_hash). -EBADMSG with why in *why (a static
 * string) when it is not one we read. */
int verity_superblock_parse(const uint8_t *buf, size_t size, uint64_t hash_offset, struct verity_record *ret,
			    const char **why);

/* Lowercase hex of size bytes into out (2 * size + 1). */
void verity_hex(const uint8_t *buf, size_t size, char *out);
/* Strict: exactly 2 * size hex digits (either case), nothing else. -EINVAL. */
int verity_unhex(const char *hex, uint8_t *buf, size_t size);

void verity_put_le32(uint8_t *p, uint32_t v);
