/* SPDX-License-Identifier: Apache-2.0 */
/* image/layer_index.c: what the writer records reads back the same, entry
 * by entry and file by file; a damaged, cut, foreign or newer index is
 * refused before anything in it is used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer_index.h"
#include "util.h"

static char dir[] = "/tmp/test-layer-index.XXXXXX";
static char path[256];

static const struct flatten_xattr xattrs[] = {
	{ "user.a", "1", 1 },
	{ "security.capability", "\x01\x00\x00\x02", 4 },
};

static const struct flatten_entry entries[] = {
	{ .path = "./etc/", .mode = S_IFDIR | 0755, .mtime = 1700000000 },
	{ .path = "etc/conf",
	  .mode = S_IFREG | 0644,
	  .uid = 1000,
	  .gid = 50,
	  .mtime = -5,
	  .size = 3,
	  .xattrs = xattrs,
	  .n_xattrs = 2 },
	{ .path = "etc/link", .mode = S_IFLNK | 0777, .symlink_target = "conf" },
	{ .path = "etc/hard", .mode = S_IFREG | 0644, .hardlink_target = "etc/conf" },
	{ .path = "dev/null", .mode = S_IFCHR | 0666, .rdev = 259 },
	{ .path = "empty", .mode = S_IFREG, .size = 0, .uid = 4294967295LL },
};

static int setup(void **state)
{
	(void) state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/x.index", dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void write_index(void)
{
	struct layer_index_writer *w = NULL;
	uint8_t sha[32] = { 1, 2, 3 };
	assert_int_equal(layer_index_writer_new(path, &w), 0);
	assert_int_equal(layer_index_begin_layer(w, "sha256:aaaa"), 0);
	for (size_t i = 0; i < ELEMENTSOF(entries); i++)
		assert_int_equal(layer_index_add_entry(w, &entries[i]), 0);
	assert_int_equal(layer_index_begin_layer(w, "sha256:bbbb"), 0); /* an empty layer */
	assert_int_equal(layer_index_add_file(w, 0, 1, 0x123456789, 3, sha), 0);
	sha[0] = 9;
	assert_int_equal(layer_index_add_file(w, 0, 5, 77, 0, sha), 0);
	/* out of order: a programming error the writer catches */
	assert_int_equal(layer_index_add_file(w, 0, 5, 78, 0, sha), -EINVAL);
	assert_int_equal(layer_index_commit(w, "settings v1"), 0);
	layer_index_writer_free(w);
}

static void test_round_trip(void **state)
{
	(void) state;
	write_index();
	struct layer_index *idx = NULL;
	assert_int_equal(layer_index_open(path, &idx), 0);
	assert_int_equal(layer_index_n_layers(idx), 2);
	assert_string_equal(layer_index_digest(idx, 0), "sha256:aaaa");
	assert_string_equal(layer_index_digest(idx, 1), "sha256:bbbb");
	assert_string_equal(layer_index_settings(idx), "settings v1");

	struct layer_index_cursor *c = NULL;
	assert_int_equal(layer_index_cursor_open(idx, 0, &c), 0);
	for (size_t i = 0; i < ELEMENTSOF(entries); i++) {
		struct flatten_entry e;
		const struct flatten_entry *want = &entries[i];
		assert_int_equal(layer_index_cursor_next(c, &e), 1);
		assert_string_equal(e.path, want->path);
		assert_int_equal(e.mode, want->mode);
		assert_true(e.uid == want->uid && e.gid == want->gid && e.mtime == want->mtime);
		assert_true(e.rdev == want->rdev && e.size == want->size);
		assert_true(!e.symlink_target == !want->symlink_target);
		assert_true(!e.hardlink_target == !want->hardlink_target);
		if (want->symlink_target)
			assert_string_equal(e.symlink_target, want->symlink_target);
		if (want->hardlink_target)
			assert_string_equal(e.hardlink_target, want->hardlink_target);
		assert_int_equal(e.n_xattrs, want->n_xattrs);
		for (size_t x = 0; x < e.n_xattrs; x++) {
			assert_string_equal(e.xattrs[x].key, want->xattrs[x].key);
			assert_int_equal(e.xattrs[x].size, want->xattrs[x].size);
			assert_memory_equal(e.xattrs[x].value, want->xattrs[x].value, e.xattrs[x].size);
		}
	}
	struct flatten_entry e;
	assert_int_equal(layer_index_cursor_next(c, &e), 0);
	layer_index_cursor_free(c);
	assert_int_equal(layer_index_cursor_open(idx, 1, &c), 0);
	assert_int_equal(layer_index_cursor_next(c, &e), 0);
	layer_index_cursor_free(c);
	assert_int_equal(layer_index_cursor_open(idx, 2, &c), -EINVAL);

	const struct layer_index_file *f = layer_index_find_file(idx, 0, 1);
	assert_non_null(f);
	assert_true(f->inode_ref == 0x123456789 && f->size == 3 && f->sha256[0] == 1 && f->sha256[2] == 3);
	f = layer_index_find_file(idx, 0, 5);
	assert_non_null(f);
	assert_true(f->inode_ref == 77 && f->sha256[0] == 9);
	assert_null(layer_index_find_file(idx, 0, 2));
	assert_null(layer_index_find_file(idx, 1, 1));
	layer_index_free(idx);
}

static size_t read_all(uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static int open_bytes(const uint8_t *buf, size_t n)
{
	struct layer_index *idx = NULL;
	int r = layer_index_open_memory(buf, n, &idx);
	if (idx)
		layer_index_free(idx);
	return r;
}

static void test_damage_refused(void **state)
{
	(void) state;
	write_index();
	static uint8_t buf[64 * 1024];
	size_t n = read_all(buf, sizeof(buf));
	assert_true(n > 80);
	assert_int_equal(open_bytes(buf, n), 0);
	/* every single flipped bit is caught (the sha256 over the file) */
	for (size_t i = 0; i < n; i++) {
		buf[i] ^= 0x10;
		assert_int_equal(open_bytes(buf, n), -EBADMSG);
		buf[i] ^= 0x10;
	}
	/* cut anywhere */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(open_bytes(buf, k), -EBADMSG);
	/* another file altogether */
	assert_int_equal(open_bytes((const uint8_t *) "not an index at all, but long enough to have a footer", 53),
			 -EBADMSG);
	/* a missing one is told apart */
	struct layer_index *idx = NULL;
	unlink(path);
	assert_int_equal(layer_index_open(path, &idx), -ENOENT);
}

static void test_abandoned_writer_leaves_nothing(void **state)
{
	(void) state;
	unlink(path);
	struct layer_index_writer *w = NULL;
	assert_int_equal(layer_index_writer_new(path, &w), 0);
	assert_int_equal(layer_index_begin_layer(w, "sha256:cc"), 0);
	assert_int_equal(layer_index_add_entry(w, &entries[1]), 0);
	layer_index_writer_free(w); /* the build failed */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_abandoned_writer_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
