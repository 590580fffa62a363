/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the dm-verity superblock parser (image/verity_tree.c) reads an
 * image's tail from a disk. It must never crash; what it accepts is bounded
 * (the data ends before the superblock, the salt fits) and survives a
 * format/parse round trip. The first 8 input bytes choose the hash offset. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "verity_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t hash_offset = 0;
	if (size < sizeof(hash_offset))
		return 0;
	memcpy(&hash_offset, data, sizeof(hash_offset));
	data += sizeof(hash_offset);
	size -= sizeof(hash_offset);
	/* Mostly small, block-aligned offsets: the interesting ones. */
	if (hash_offset & 1)
		hash_offset = (hash_offset >> 1) % (1u << 20) * VERITY_BLOCK_SIZE;

	struct verity_record rec, again;
	const char *why;
	if (verity_superblock_parse(data, size, hash_offset, &rec, &why) < 0) {
		assert(why);
		return 0;
	}
	assert(!why);
	assert(rec.salt_size <= VERITY_SALT_MAX);
	assert(rec.data_blocks >= 1 && rec.data_blocks <= hash_offset / VERITY_BLOCK_SIZE);
	assert(rec.hash_start_block == hash_offset / VERITY_BLOCK_SIZE + 1);
	struct verity_levels lv;
	assert(verity_tree_levels(rec.data_blocks, &lv) == 0);
	assert(lv.total <= rec.data_blocks);

	uint8_t sb[VERITY_SUPERBLOCK_SIZE];
	verity_superblock_format(&rec, sb);
	assert(verity_superblock_parse(sb, sizeof(sb), hash_offset, &again, &why) == 0);
	assert(again.data_blocks == rec.data_blocks && again.salt_size == rec.salt_size);
	assert(memcmp(again.salt, rec.salt, rec.salt_size) == 0);
	return 0;
}
