/* SPDX-License-Identifier: Apache-2.0 */
/* image/verity_tree.c: the level shapes the kernel expects, roots computed
 * by hand, every kind of damage named by its block, the superblock parser's
 * refusals, and node/image_meta.c's strict "verity" record. (Interop with
 * veritysetup: tests/flatten.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_meta.h"
#include "util.h"
#include "verity_tree.h"

#define BS VERITY_BLOCK_SIZE

static const uint8_t salt[] = "0123456789abcdef0123456789abcdef";
#define SALT_SIZE 32

static void test_levels(void **state)
{
	(void) state;
	struct verity_levels lv;
	assert_int_equal(verity_tree_levels(0, &lv), -EINVAL);

	assert_int_equal(verity_tree_levels(1, &lv), 0); /* the root hashes the block */
	assert_int_equal(lv.n, 0);
	assert_int_equal(lv.total, 0);

	for (uint64_t n = 2; n <= 128; n += 126) {
		assert_int_equal(verity_tree_levels(n, &lv), 0);
		assert_int_equal(lv.n, 1);
		assert_int_equal(lv.size[0], 1);
		assert_int_equal(lv.start[0], 0);
		assert_int_equal(lv.total, 1);
	}

	assert_int_equal(verity_tree_levels(129, &lv), 0);
	assert_int_equal(lv.n, 2);
	assert_int_equal(lv.size[1], 1); /* the top level first on disk */
	assert_int_equal(lv.start[1], 0);
	assert_int_equal(lv.size[0], 2);
	assert_int_equal(lv.start[0], 1);
	assert_int_equal(lv.total, 3);

	assert_int_equal(verity_tree_levels(16384, &lv), 0);
	assert_int_equal(lv.n, 2);
	assert_int_equal(lv.total, 129);

	assert_int_equal(verity_tree_levels(16385, &lv), 0);
	assert_int_equal(lv.n, 3);
	assert_int_equal(lv.size[2], 1);
	assert_int_equal(lv.size[1], 2);
	assert_int_equal(lv.size[0], 129);
	assert_int_equal(lv.start[2], 0);
	assert_int_equal(lv.start[1], 1);
	assert_int_equal(lv.start[0], 3);
	assert_int_equal(lv.total, 132);

	/* The largest count: bounded, no overflow. */
	assert_int_equal(verity_tree_levels(UINT64_MAX, &lv), 0);
	assert_int_equal(lv.n, 10);
	assert_int_equal(lv.size[9], 1);
	assert_int_equal(lv.size[0], UINT64_MAX / 128 + 1);
}

static void sha256_salted(const void *block, size_t size, uint8_t out[32])
{
	unsigned len;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(md, salt, SALT_SIZE), 1);
	assert_int_equal(EVP_DigestUpdate(md, block, size), 1);
	assert_int_equal(EVP_DigestFinal_ex(md, out, &len), 1);
	EVP_MD_CTX_free(md);
}

/* A file of n data blocks, block i filled with byte i + 1, the tree after it. */
static int make_image(uint64_t n, struct verity_record *rec)
{
	char path[] = "/tmp/test-verity-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	uint8_t *block = malloc(BS);
	assert_non_null(block);
	for (uint64_t i = 0; i < n; i++) {
		memset(block, (int) (i + 1), BS);
		assert_int_equal(pwrite(fd, block, BS, (off_t) (i * BS)), BS);
	}
	free(block);
	assert_int_equal(verity_tree_write(fd, "test", n * BS, salt, SALT_SIZE, rec), 0);
	return fd;
}

static off_t file_size(int fd)
{
	return lseek(fd, 0, SEEK_END);
}

static void flip_byte(int fd, uint64_t offset)
{
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, (off_t) offset), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, (off_t) offset), 1);
}

static void test_roots_by_hand(void **state)
{
	(void) state;
	struct verity_record rec;
	uint8_t block[BS], want[32], h[2][32];

	/* One block: the root is sha256(salt || block), no tree. */
	int fd = make_image(1, &rec);
	memset(block, 1, BS);
	sha256_salted(block, BS, want);
	assert_memory_equal(rec.root_hash, want, 32);
	assert_int_equal(rec.hash_offset, BS);
	assert_int_equal(rec.hash_start_block, 2);
	assert_int_equal(rec.data_blocks, 1);
	assert_int_equal(file_size(fd), 2 * BS); /* data, superblock */
	close(fd);

	/* Two blocks: one hash block of their digests, zero-padded. */
	fd = make_image(2, &rec);
	for (int i = 0; i < 2; i++) {
		memset(block, i + 1, BS);
		sha256_salted(block, BS, h[i]);
	}
	memset(block, 0, BS);
	memcpy(block, h, sizeof(h));
	sha256_salted(block, BS, want);
	assert_memory_equal(rec.root_hash, want, 32);
	uint8_t disk[BS];
	assert_int_equal(pread(fd, disk, BS, 3 * BS), BS);
	assert_memory_equal(disk, block, BS);
	assert_int_equal(file_size(fd), 4 * BS);
	uint64_t bad;
	assert_int_equal(verity_tree_verify(fd, "test", &rec, &bad), 0);
	close(fd);
}

static void test_damage(void **state)
{
	(void) state;
	struct verity_record rec;
	uint64_t bad;
	/* 129 blocks: data 0..128, superblock 129, top level 130, level 0 at 131, 132. */
	int fd = make_image(129, &rec);
	assert_int_equal(file_size(fd), (129 + 1 + 3) * BS);
	assert_int_equal(verity_tree_verify(fd, "test", &rec, &bad), 0);
	assert_int_equal(bad, UINT64_MAX);

	const struct {
		uint64_t offset, block;
	} cases[] = {
		{ 77 * BS + 9, 77 },      /* a data block */
		{ 128 * BS + 4095, 128 }, /* the last data block */
		{ 132 * BS + 1, 132 },    /* level 0, its second block */
		{ 130 * BS, 130 },        /* the top block */
		{ 132 * BS + 64, 132 },   /* the unused tail of the last level-0 block */
		{ 129 * BS + 72, 129 },   /* the superblock's data_blocks */
		{ 129 * BS + 88, 129 },   /* its salt: differs from the record */
		{ 129 * BS + 0, 129 },    /* its signature */
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		flip_byte(fd, cases[i].offset);
		assert_int_equal(verity_tree_verify(fd, "test", &rec, &bad), -EBADMSG);
		assert_int_equal(bad, cases[i].block);
		flip_byte(fd, cases[i].offset);
		assert_int_equal(verity_tree_verify(fd, "test", &rec, &bad), 0);
	}

	/* Without the record's data_blocks and salt (veritysetup's way): the
	 * superblock's salt is used, so a changed salt fails at the top block. */
	struct verity_record cli = { .hash_offset = rec.hash_offset };
	memcpy(cli.root_hash, rec.root_hash, 32);
	assert_int_equal(verity_tree_verify(fd, "test", &cli, &bad), 0);
	flip_byte(fd, 129 * BS + 88);
	assert_int_equal(verity_tree_verify(fd, "test", &cli, &bad), -EBADMSG);
	assert_int_equal(bad, 130);
	flip_byte(fd, 129 * BS + 88);

	/* Truncated: in the tree, at the superblock, inside the data. */
	const off_t cuts[] = { 132 * BS, 131 * BS + 100, 129 * BS + 4000, 100 * BS };
	for (size_t i = 0; i < ELEMENTSOF(cuts); i++) {
		assert_int_equal(ftruncate(fd, cuts[i]), 0);
		assert_int_equal(verity_tree_verify(fd, "test", &rec, &bad), -EBADMSG);
		assert_int_equal(bad, (uint64_t) cuts[i] / BS);
	}
	close(fd);
}

static void test_write_refuses(void **state)
{
	(void) state;
	struct verity_record rec;
	char path[] = "/tmp/test-verity-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(verity_tree_write(fd, "test", 0, salt, SALT_SIZE, &rec), -EINVAL);
	assert_int_equal(verity_tree_write(fd, "test", 4095, salt, SALT_SIZE, &rec), -EINVAL);
	assert_int_equal(verity_tree_write(fd, "test", BS, salt, VERITY_SALT_MAX + 1, &rec), -EINVAL);
	/* Shorter than it says: an error, not a tree over zeros. */
	assert_int_equal(ftruncate(fd, BS), 0);
	assert_int_equal(verity_tree_write(fd, "test", 3 * BS, salt, SALT_SIZE, &rec), -EIO);
	close(fd);
}

static void test_superblock_parse(void **state)
{
	(void) state;
	struct verity_record rec = { .salt_size = SALT_SIZE, .data_blocks = 10, .hash_offset = 10 * BS }, got;
	memcpy(rec.salt, salt, SALT_SIZE);
	uint8_t sb[VERITY_SUPERBLOCK_SIZE], bad[VERITY_SUPERBLOCK_SIZE];
	const char *why;
	verity_superblock_format(&rec, sb);
	assert_int_equal(verity_superblock_parse(sb, sizeof(sb), 10 * BS, &got, &why), 0);
	assert_null(why);
	assert_int_equal(got.data_blocks, 10);
	assert_int_equal(got.salt_size, SALT_SIZE);
	assert_memory_equal(got.salt, salt, SALT_SIZE);
	assert_int_equal(got.hash_start_block, 11);

	assert_int_equal(verity_superblock_parse(sb, sizeof(sb) - 1, 10 * BS, &got, &why), -EBADMSG);
	assert_int_equal(verity_superblock_parse(sb, sizeof(sb), 10 * BS + 512, &got, &why), -EBADMSG);
	assert_string_equal(why, "hash offset is not a multiple of 4096");
	assert_int_equal(verity_superblock_parse(sb, sizeof(sb), 9 * BS, &got, &why), -EBADMSG);
	assert_string_equal(why, "data blocks overlap the hash area");

	const struct {
		size_t at;
		uint8_t value;
		const char *why;
	} cases[] = {
		{ 0, 'V', "no verity superblock (signature)" },
		{ 8, 0, "superblock version is not 1" },
		{ 12, 0, "hash type is not 1 (only format 1 is read)" },
		{ 32 + 3, '5', "hash algorithm is not sha256" },
		{ 32 + 6, '!', "hash algorithm is not sha256" }, /* "sha256!" */
		{ 65, 0x02, "block sizes are not 4096" },
		{ 69, 0x20, "block sizes are not 4096" },
		{ 72, 0, "no data blocks" },
		{ 79, 1, "data blocks overlap the hash area" },
		{ 81, 1, "salt is longer than 256 bytes" },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		memcpy(bad, sb, sizeof(sb));
		bad[cases[i].at] = cases[i].value;
		assert_int_equal(verity_superblock_parse(bad, sizeof(bad), 10 * BS, &got, &why), -EBADMSG);
		assert_string_equal(why, cases[i].why);
	}
}

static void test_hex(void **state)
{
	(void) state;
	uint8_t b[2];
	char s[5];
	assert_int_equal(verity_unhex("0aFf", b, 2), 0);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0xff);
	verity_hex(b, 2, s);
	assert_string_equal(s, "0aff");
	assert_int_equal(verity_unhex("0aF", b, 2), -EINVAL);
	assert_int_equal(verity_unhex("0aFf0", b, 2), -EINVAL);
	assert_int_equal(verity_unhex("0aFg", b, 2), -EINVAL);
	assert_int_equal(verity_unhex(" aFf", b, 2), -EINVAL);
	assert_int_equal(verity_unhex(NULL, b, 2), -EINVAL);
}

static void test_meta_record(void **state)
{
	(void) state;
	struct verity_record rec = { .salt_size = SALT_SIZE,
				     .data_blocks = 10,
				     .hash_offset = 10 * BS,
				     .hash_start_block = 11 },
			     got;
	memcpy(rec.salt, salt, SALT_SIZE);
	memset(rec.root_hash, 0xab, 32);
	json_t *o = image_meta_verity_to_json(&rec);
	assert_non_null(o);
	assert_null(image_meta_verity_from_json(o, &got));
	assert_memory_equal(&got, &rec, sizeof(rec));

	/* Each member wrong in turn: refused, the record left empty. */
	const char *const bad[] = {
		"{\"root_hash\": \"ab\"}",
		"[]",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		json_t *b = json_loads(bad[i], 0, NULL);
		assert_non_null(image_meta_verity_from_json(b, &got));
		assert_int_equal(got.data_blocks, 0);
		json_decref(b);
	}
	const struct {
		const char *key;
		json_t *value;
	} changes[] = {
		{ "root_hash", json_string("ab") },
		{ "root_hash", json_integer(1) },
		{ "salt", json_string("abc") },
		{ "salt", json_string("zz") },
		{ "hash_offset", json_integer(4095) },
		{ "hash_offset", json_integer(-4096) },
		{ "hash_offset", json_string("40960") },
		{ "data_blocks", json_integer(0) },
		{ "data_blocks", json_integer(11) },
		{ "algorithm", json_string("sha1") },
		{ "data_block_size", json_integer(512) },
		{ "hash_block_size", json_real(4096.0) },
		{ "extra", json_true() },
	};
	for (size_t i = 0; i < ELEMENTSOF(changes); i++) {
		json_t *c = json_deep_copy(o);
		json_object_set_new(c, changes[i].key, changes[i].value);
		assert_non_null(image_meta_verity_from_json(c, &got));
		assert_int_equal(got.data_blocks, 0);
		json_decref(c);
	}
	json_t *c = json_deep_copy(o);
	json_object_del(c, "salt");
	assert_non_null(image_meta_verity_from_json(c, &got));
	json_decref(c);
	/* An empty salt is valid (veritysetup --salt=-). */
	c = json_deep_copy(o);
	json_object_set_new(c, "salt", json_string(""));
	assert_null(image_meta_verity_from_json(c, &got));
	assert_int_equal(got.salt_size, 0);
	json_decref(c);
	json_decref(o);
}

/* Through image_meta_write()/image_meta_read(): the record round-trips; a
 * file without one reads as none. */
static void test_meta_file(void **state)
{
	(void) state;
	char dir[] = "/tmp/test-verity-meta-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/i.json", dir);
	struct image_meta m = { .source = (char *) "oci:x", .digest = (char *) "sha256:00", .size = 1 }, back;
	assert_int_equal(image_meta_write(path, &m), 0);
	assert_int_equal(image_meta_read(path, &back), 0);
	assert_int_equal(back.verity.data_blocks, 0);
	assert_null(back.verity_invalid);
	image_meta_done(&back);
	m.verity = (struct verity_record){
		.salt_size = 3, .data_blocks = 2, .hash_offset = 2 * BS, .hash_start_block = 3
	};
	memset(m.verity.root_hash, 7, 32);
	assert_int_equal(image_meta_write(path, &m), 0);
	assert_int_equal(image_meta_read(path, &back), 0);
	assert_memory_equal(&back.verity, &m.verity, sizeof(m.verity));
	image_meta_done(&back);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),           cmocka_unit_test(test_roots_by_hand),
		cmocka_unit_test(test_damage),           cmocka_unit_test(test_write_refuses),
		cmocka_unit_test(test_superblock_parse), cmocka_unit_test(test_hex),
		cmocka_unit_test(test_meta_record),      cmocka_unit_test(test_meta_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
