/* SPDX-License-Identifier: Apache-2.0 */
#include "verity_record.h"

#include <errno.h>
#include <string.h>

void verity_put_le32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t) get_le32(p) | (uint64_t) get_le32(p + 4) << 32;
}

/* struct verity_sb of cryptsetup (lib/verity/verity.c), little endian. */
const uint8_t verity_sb_signature[8] = "verity";
const uint8_t verity_sb_algorithm[32] = "sha256";

uint64_t verity_hash_start_block(uint64_t hash_offset)
{
	/* The superblock takes the first hash block (cryptsetup's
	 * VERITY_hash_offset_block()). */
	return hash_offset / VERITY_BLOCK_SIZE + 1;
}

int verity_superblock_parse(const uint8_t *buf, size_t size, uint64_t hash_offset, struct verity_record *ret,
			    const char **why)
{
	*ret = (struct verity_record){ 0 };
	*why = NULL;
	if (size < VERITY_SUPERBLOCK_SIZE)
		*why = "shorter than a verity superblock";
	else if (memcmp(buf, verity_sb_signature, sizeof(verity_sb_signature)) != 0)
		*why = "no verity superblock (signature)";
	else if (get_le32(buf + VERITY_SB_VERSION) != 1)
		*why = "superblock version is not 1";
	else if (get_le32(buf + VERITY_SB_HASH_TYPE) != 1)
		*why = "hash type is not 1 (only format 1 is read)";
	else if (memcmp(buf + VERITY_SB_ALGORITHM, verity_sb_algorithm, sizeof(verity_sb_algorithm)) != 0)
		*why = "hash algorithm is not sha256";
	else if (get_le32(buf + VERITY_SB_DATA_BLOCK_SIZE) != VERITY_BLOCK_SIZE ||
		 get_le32(buf + VERITY_SB_HASH_BLOCK_SIZE) != VERITY_BLOCK_SIZE)
		*why = "block sizes are not 4096";
	else if ((size_t) (buf[VERITY_SB_SALT_SIZE] | buf[VERITY_SB_SALT_SIZE + 1] << 8) > VERITY_SALT_MAX)
		*why = "salt is longer than 256 bytes";
	else if (hash_offset % VERITY_BLOCK_SIZE != 0)
		*why = "hash offset is not a multiple of 4096";
	else if (get_le64(buf + VERITY_SB_DATA_BLOCKS) == 0)
		*why = "no data blocks";
	else if (get_le64(buf + VERITY_SB_DATA_BLOCKS) > hash_offset / VERITY_BLOCK_SIZE)
		*why = "data blocks overlap the hash area";
	if (*why)
		return -EBADMSG;
	ret->salt_size = (size_t) (buf[VERITY_SB_SALT_SIZE] | buf[VERITY_SB_SALT_SIZE + 1] << 8);
	memcpy(ret->salt, buf + VERITY_SB_SALT, ret->salt_size);
	ret->data_blocks = get_le64(buf + VERITY_SB_DATA_BLOCKS);
	ret->hash_offset = hash_offset;
	ret->hash_start_block = verity_hash_start_block(hash_offset);
	return 0;
}

void verity_hex(const uint8_t *buf, size_t size, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < size; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * size] = '\0';
}

static int unhex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int verity_unhex(const char *hex, uint8_t *buf, size_t size)
{
	if (!hex || strnlen(hex, 2 * size + 1) != 2 * size)
		return -EINVAL;
	for (size_t i = 0; i < size; i++) {
		int hi = unhex_digit(hex[2 * i]), lo = unhex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		buf[i] = (uint8_t) (hi << 4 | lo);
	}
	return 0;
}
