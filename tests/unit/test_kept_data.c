/* SPDX-License-Identifier: Apache-2.0 */
/* image/kept_data.c: a hidden file's data read once from its layer, kept,
 * and read back the same; changed on the disk, it is refused by name; no
 * name is left in the directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kept_data.h"
#include "layer_reader.h"
#include "unlinked_fd.h"
#include "util.h"

#define SIZE (3u * 1024 * 1024 + 11) /* more than one piece */

static uint8_t content[SIZE];
static uint8_t tar[SIZE + 64 * 1024];
static size_t tar_size;

struct mem_stream {
	struct layer_stream base;
	size_t pos;
};

static ssize_t mem_read(struct layer_stream *ls, void *buf, size_t size)
{
	struct mem_stream *s = (struct mem_stream *) ls;
	if (size > tar_size - s->pos)
		size = tar_size - s->pos;
	memcpy(buf, tar + s->pos, size);
	s->pos += size;
	return (ssize_t) size;
}

static void mem_close(struct layer_stream *ls)
{
	(void) ls;
}

static int setup(void **state)
{
	(void) state;
	for (size_t i = 0; i < SIZE; i++)
		content[i] = (uint8_t) (i * 13 % 251);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, tar, sizeof(tar), &tar_size), ARCHIVE_OK);
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, "usr/bin/hidden");
	archive_entry_set_mode(ae, S_IFREG | 0644);
	archive_entry_set_size(ae, SIZE);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, content, SIZE), (la_ssize_t) SIZE);
	archive_entry_free(ae);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return 0;
}

/* Keeps the layer's one file in dir as inode; returns the kept data. */
static int read_tar_piece(void *lr, const void **buf, size_t *size, int64_t *offset)
{
	return layer_reader_read_data(lr, buf, size, offset);
}

static struct kept_data *keep(const char *dir, uint64_t reserve, struct fs_inode *inode)
{
	struct mem_stream s = { .base = { .digest = "sha256:mem",
					  .media_type = "application/vnd.oci.image.layer.v1.tar",
					  .size = tar_size,
					  .read = mem_read,
					  .close = mem_close } };
	struct expansion_budget budget = {};
	struct layer_reader *lr = NULL;
	struct kept_data *k = NULL;
	assert_int_equal(kept_data_new(dir, reserve, &k), 0);
	assert_int_equal(layer_reader_open(&s.base, &budget, &lr), 0);
	struct flatten_entry e;
	assert_int_equal(layer_reader_next(lr, &e), 1);
	inode->size = e.size;
	assert_int_equal(kept_data_save(k, read_tar_piece, lr, inode), 0);
	assert_int_equal(layer_reader_next(lr, &e), 0);
	assert_int_equal(layer_reader_finish(lr), 0);
	layer_reader_free(lr);
	return k;
}

/* Reads inode's kept data back into out; returns the final result. */
static int read_back(struct kept_data *k, struct fs_inode *inode, uint8_t *out)
{
	int r = kept_data_open(k, inode);
	if (r < 0)
		return r;
	const void *buf;
	size_t size;
	int64_t offset;
	while ((r = kept_data_read_piece(k, &buf, &size, &offset)) > 0) {
		assert_true((uint64_t) offset + size <= SIZE);
		memcpy(out + offset, buf, size);
	}
	return r;
}

static void test_kept_and_changed(void **state)
{
	(void) state;
	char dir[] = "/tmp/test-kept-data.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct fs_inode inode = { .mode = S_IFREG | 0644 }, other = { .mode = S_IFREG | 0644 };
	struct kept_data *k = keep(dir, 0, &inode);

	struct fs_inode *want[] = { &inode }, *missing[] = { &other };
	assert_true(kept_data_has_all(k, want, 1));
	assert_false(kept_data_has_all(k, missing, 1));
	static uint8_t out[SIZE];
	assert_int_equal(read_back(k, &inode, out), 0);
	assert_memory_equal(out, content, SIZE);

	int fd = unlinked_fd_in(dir);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 100000), 1); /* the disk flips a byte */
	assert_int_equal(read_back(k, &inode, out), -EBADMSG);
	assert_int_equal(pwrite(fd, "\xff", 1, 0), 1); /* and a piece's offset */
	assert_int_equal(read_back(k, &inode, out), -EBADMSG);
	kept_data_free(k);
	assert_int_equal(rmdir(dir), 0); /* nothing left with a name */
}

/* No room beyond what the image needs: nothing kept, not an error (the
 * builder reads the layer again instead). */
static void test_over_budget(void **state)
{
	(void) state;
	char dir[] = "/tmp/test-kept-data.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct fs_inode inode = { .mode = S_IFREG | 0644 };
	struct kept_data *k = keep(dir, UINT64_MAX, &inode);
	struct fs_inode *want[] = { &inode };
	assert_false(kept_data_has_all(k, want, 1));
	assert_int_equal(kept_data_open(k, &inode), -ENOENT);
	kept_data_free(k);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kept_and_changed, setup, NULL),
		cmocka_unit_test_setup_teardown(test_over_budget, setup, NULL),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
