/* SPDX-License-Identifier: Apache-2.0 */
/* image/sqfs_writer.c: which small files are set aside (and so where their
 * data lands in the image) depends on their sizes only, never on how well
 * the local libzstd compresses them: the same layers must give the same
 * bytes on every node (docs/DESIGN.md, "Deterministic images"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_tree.h"
#include "sqfs_writer.h"
#include "util.h"

#define N_FILES 100
#define FILE_SIZE 1000
#define FITS 20 /* files the bound allows, charged by size */

/* Sets aside N_FILES files of FILE_SIZE bytes, compressible or not; the
 * bound is FITS files' charge. Returns the set-aside flags. */
static void set_aside(bool compressible, bool deferred[N_FILES])
{
	char path[] = "/tmp/test-sqfs-writer.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct build_options opts;
	build_options_init(&opts);
	opts.threads = 1;
	/* FITS times the charge: size + size/256 + 64 */
	opts.spill_max = FITS * (FILE_SIZE + FILE_SIZE / 256 + 64);
	struct fs_tree *tree = NULL;
	assert_int_equal(fs_tree_new(&tree), 0);
	struct sqfs_writer *w = NULL;
	assert_int_equal(sqfs_writer_new(fd, path, &opts, &w), 0);

	uint8_t data[FILE_SIZE];
	unsigned seed = 7;
	for (size_t i = 0; i < N_FILES; i++) {
		for (size_t j = 0; j < FILE_SIZE; j++)
			data[j] = compressible ? 'a' : (uint8_t) (rand_r(&seed) >> 7);
		struct fs_inode *inode = fs_inode_new(tree, S_IFREG | 0644);
		assert_non_null(inode);
		inode->size = FILE_SIZE;
		assert_int_equal(sqfs_writer_begin_file(w, inode), 0);
		assert_int_equal(sqfs_writer_append(w, data, FILE_SIZE), 0);
		assert_int_equal(sqfs_writer_end_file(w), 0);
		deferred[i] = inode->data_deferred;
	}
	sqfs_writer_free(w);
	fs_tree_free(tree);
	close(fd);
	unlink(path);
}

static void test_spill_bound_by_size(void **state)
{
	(void) state;
	bool a[N_FILES], b[N_FILES];
	set_aside(true, a);
	set_aside(false, b);
	size_t n = 0;
	for (size_t i = 0; i < N_FILES; i++)
		n += a[i];
	/* zstd makes each compressible file ~20 bytes: charged by what it
	 * compressed to, all 100 would fit */
	assert_int_equal(n, FITS);
	assert_memory_equal(a, b, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spill_bound_by_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
