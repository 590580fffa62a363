/* SPDX-License-Identifier: Apache-2.0 */
/* OCI flattening rules on synthetic entries: whiteouts, opaque directories,
 * type changes, hard links, and the path checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "flatten.h"
#include "fs_tree.h"
#include "log.h"
#include "util.h"

struct fixture {
	struct fs_tree *tree;
	struct flatten_context ctx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(fs_tree_new(&f->tree), 0);
	f->ctx = (struct flatten_context){ .tree = f->tree, .layer_digest = "sha256:test" };
	*state = f;
	log_set_max_level(LOG_LEVEL_ERROR - 1); /* the rejections below log on purpose */
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fs_tree_free(f->tree);
	free(f);
	return 0;
}

static int apply(struct fixture *f, unsigned layer, const char *path, mode_t mode)
{
	struct flatten_entry e = { .path = path, .mode = mode, .mtime = 1 };
	struct fs_inode *inode;
	f->ctx.layer = layer;
	if (S_ISLNK(mode))
		e.symlink_target = "target";
	return flatten_apply_entry(&f->ctx, &e, &inode);
}

static int apply_link(struct fixture *f, unsigned layer, const char *path, const char *target)
{
	struct flatten_entry e = { .path = path, .mode = S_IFREG | 0644, .hardlink_target = target };
	struct fs_inode *inode;
	f->ctx.layer = layer;
	return flatten_apply_entry(&f->ctx, &e, &inode);
}

static struct fs_node *find(struct fixture *f, const char *path)
{
	char buf[FLATTEN_PATH_MAX];
	struct fs_node *n = f->tree->root;
	strcpy(buf, path);
	for (char *save, *c = strtok_r(buf, "/", &save); c && n; c = strtok_r(NULL, "/", &save))
		n = fs_node_lookup_child(n, c);
	return n;
}

#define DIR (S_IFDIR | 0755)
#define REG (S_IFREG | 0644)

static void test_normalize_path(void **state)
{
	(void) state;
	char out[64];
	assert_int_equal(flatten_normalize_path("./usr//bin/./ls", out, sizeof(out)), 0);
	assert_string_equal(out, "usr/bin/ls");
	assert_int_equal(flatten_normalize_path("./", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(flatten_normalize_path("etc/", out, sizeof(out)), 0);
	assert_string_equal(out, "etc");
	assert_int_equal(flatten_normalize_path("/etc/passwd", out, sizeof(out)), -EINVAL);
	assert_int_equal(flatten_normalize_path("../x", out, sizeof(out)), -EINVAL);
	assert_int_equal(flatten_normalize_path("a/../../x", out, sizeof(out)), -EINVAL);
	assert_int_equal(flatten_normalize_path("a/..", out, sizeof(out)), -EINVAL);
	assert_int_equal(flatten_normalize_path("a/..b/c..", out, sizeof(out)), 0);
	assert_string_equal(out, "a/..b/c..");

	char name[300];
	memset(name, 'n', 256);
	name[256] = '\0';
	char big[1024];
	assert_int_equal(flatten_normalize_path(name, big, sizeof(big)), -ENAMETOOLONG);
	name[255] = '\0';
	assert_int_equal(flatten_normalize_path(name, big, sizeof(big)), 0);
	assert_int_equal(flatten_normalize_path(name, out, sizeof(out)), -ENAMETOOLONG);
}

static void test_whiteout_lower_only(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(apply(f, 0, "d/", DIR), 0);
	assert_int_equal(apply(f, 0, "d/a", REG), 0);
	assert_int_equal(apply(f, 0, "d/sub/", DIR), 0);
	assert_int_equal(apply(f, 0, "d/sub/x", REG), 0);
	/* layer 1 removes d/sub (with its subtree) and d/a; its own d/a survives
	 * even though the whiteout comes after it */
	assert_int_equal(apply(f, 1, "d/a", REG), 0);
	assert_int_equal(apply(f, 1, "d/.wh.a", REG), 0);
	assert_int_equal(apply(f, 1, "d/.wh.sub", REG), 0);
	assert_non_null(find(f, "d/a"));
	assert_int_equal(find(f, "d/a")->layer, 1);
	assert_null(find(f, "d/sub"));
	assert_null(find(f, "d/.wh.a"));
	/* a whiteout of something missing is fine, and creates no directory */
	assert_int_equal(apply(f, 2, "d/.wh.nothing", REG), 0);
	assert_int_equal(apply(f, 2, "no/such/.wh.dir", REG), 0);
	assert_null(find(f, "no"));
	/* deleted then re-created */
	assert_int_equal(apply(f, 2, ".wh.d", REG), 0);
	assert_null(find(f, "d"));
	assert_int_equal(apply(f, 3, "d/", DIR), 0);
	assert_int_equal(find(f, "d")->n_children, 0);
}

static void test_opaque(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(apply(f, 0, "o/", DIR), 0);
	assert_int_equal(apply(f, 0, "o/old", REG), 0);
	assert_int_equal(apply(f, 0, "o/olddir/", DIR), 0);
	assert_int_equal(apply(f, 0, "o/olddir/f", REG), 0);
	assert_int_equal(apply(f, 1, "o/before", REG), 0);
	assert_int_equal(apply(f, 1, "o/olddir/mine", REG), 0);
	assert_int_equal(apply(f, 1, "o/.wh..wh..opq", REG), 0);
	assert_int_equal(apply(f, 1, "o/after", REG), 0);
	assert_non_null(find(f, "o"));
	assert_null(find(f, "o/old"));
	assert_non_null(find(f, "o/before"));
	assert_non_null(find(f, "o/after"));
	/* olddir stays for this layer's file, its lower content goes */
	assert_non_null(find(f, "o/olddir/mine"));
	assert_null(find(f, "o/olddir/f"));
	assert_null(find(f, "o/.wh..wh..opq"));
}

static void test_type_changes(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(apply(f, 0, "x", REG), 0);
	assert_int_equal(apply(f, 0, "y/", DIR), 0);
	assert_int_equal(apply(f, 0, "y/child", REG), 0);
	assert_int_equal(apply(f, 0, "z/", S_IFDIR | 0700), 0);
	assert_int_equal(apply(f, 0, "z/keep", REG), 0);
	assert_int_equal(apply(f, 1, "x/", DIR), 0);
	assert_int_equal(apply(f, 1, "y", S_IFLNK | 0777), 0);
	assert_int_equal(apply(f, 1, "z/", S_IFDIR | 0755), 0);
	assert_true(S_ISDIR(find(f, "x")->inode->mode));
	assert_true(S_ISLNK(find(f, "y")->inode->mode));
	assert_int_equal(find(f, "y")->n_children, 0);
	/* dir over dir: merge, attributes from above */
	assert_non_null(find(f, "z/keep"));
	assert_int_equal(find(f, "z")->inode->mode, S_IFDIR | 0755);
	/* duplicates: last wins */
	assert_int_equal(apply(f, 1, "dup", REG), 0);
	assert_int_equal(apply(f, 1, "dup", S_IFIFO | 0600), 0);
	assert_true(S_ISFIFO(find(f, "dup")->inode->mode));
}

static void test_hardlink_binds_inode(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(apply(f, 0, "t", REG), 0);
	struct fs_inode *old = find(f, "t")->inode;
	assert_int_equal(apply_link(f, 0, "l1", "t"), 0);
	assert_int_equal(apply_link(f, 1, "l2", "./t"), 0);
	assert_ptr_equal(find(f, "l1")->inode, old);
	assert_int_equal(old->nlink, 3);
	/* replacing or removing the target path does not move the links */
	assert_int_equal(apply(f, 2, "t", REG), 0);
	assert_ptr_not_equal(find(f, "t")->inode, old);
	assert_int_equal(apply(f, 3, ".wh.l1", REG), 0);
	assert_ptr_equal(find(f, "l2")->inode, old);
	assert_int_equal(old->nlink, 1);
	/* links out of the root, to nothing, to directories: refused */
	assert_int_equal(apply_link(f, 3, "bad", "../../etc/passwd"), -EBADMSG);
	assert_int_equal(apply_link(f, 3, "bad", "/etc/passwd"), -EBADMSG);
	assert_int_equal(apply_link(f, 3, "bad", "missing"), -EBADMSG);
	assert_int_equal(apply(f, 3, "dir/", DIR), 0);
	assert_int_equal(apply_link(f, 3, "bad", "dir"), -EBADMSG);
}

static void test_rejections(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(apply(f, 0, "../evil", REG), -EBADMSG);
	assert_int_equal(apply(f, 0, "/abs", REG), -EBADMSG);
	assert_int_equal(apply(f, 0, "a/../../b", REG), -EBADMSG);
	assert_int_equal(apply(f, 0, "lnk", S_IFLNK | 0777), 0);
	assert_int_equal(apply(f, 0, "lnk/passwd", REG), -EBADMSG);
	assert_int_equal(apply_link(f, 0, "ok", "lnk"), 0); /* a link to a symlink is fine */
	assert_int_equal(apply_link(f, 0, "bad", "lnk/x"), -EBADMSG);
	assert_int_equal(apply(f, 0, "file", REG), 0);
	assert_int_equal(apply(f, 0, "file/below", REG), -EBADMSG);
	assert_int_equal(apply(f, 0, ".wh.", REG), -EBADMSG);
	/* AUFS metadata is ignored, not refused */
	assert_int_equal(apply(f, 0, ".wh..wh.plnk/1.2", REG), 0);
	assert_int_equal(apply(f, 0, ".wh..wh.aufs", REG), 0);
	assert_null(find(f, ".wh..wh.plnk"));
	/* implicit parents */
	assert_int_equal(apply(f, 0, "p/q/r", REG), 0);
	assert_true(S_ISDIR(find(f, "p/q")->inode->mode));
}

static void test_xattrs_filtered(void **state)
{
	struct fixture *f = *state;
	static const uint8_t cap[] = { 1, 0, 0, 2 };
	struct flatten_xattr xs[] = {
		{ "security.capability", cap, sizeof(cap) },
		{ "system.posix_acl_access", "x", 1 },
		{ "user.a", "b", 1 },
	};
	struct flatten_entry e = { .path = "bin/ping",
				   .mode = REG,
				   .xattrs = xs,
				   .n_xattrs = 3,
				   .mtime = (int64_t) 1 << 40,
				   .uid = 7,
				   .gid = 8 };
	struct fs_inode *inode;
	assert_int_equal(flatten_apply_entry(&f->ctx, &e, &inode), 0);
	assert_non_null(inode);
	assert_int_equal(inode->n_xattrs, 2);
	assert_string_equal(inode->xattrs[0].key, "security.capability");
	assert_memory_equal(inode->xattrs[0].value, cap, sizeof(cap));
	assert_true(f->ctx.warned_xattr);
	assert_int_equal(inode->mtime, UINT32_MAX);
	e.uid = (int64_t) 1 << 33;
	e.path = "bin/other";
	assert_int_equal(flatten_apply_entry(&f->ctx, &e, &inode), -EBADMSG);
}

static int check_sorted(struct fs_node *n, void *userdata)
{
	size_t *count = userdata;
	for (size_t i = 1; i < n->n_children; i++)
		assert_true(strcmp(n->children[i - 1]->name, n->children[i]->name) < 0);
	for (size_t i = 0; i < n->n_children; i++)
		assert_int_equal(n->children[i]->slot, i);
	(*count)++;
	return 0;
}

/* Big directories filled in any order: lookups, whiteouts and opaque
 * markers work on the unsorted children, and the walk sorts them. */
static void test_big_directory_any_order(void **state)
{
	struct fixture *f = *state;
	enum { N = 3000 };
	char path[64];

	/* layer 0: d/ descending, e/ in a scattered order */
	for (int i = N - 1; i >= 0; i--) {
		snprintf(path, sizeof(path), "d/f%05d", i);
		assert_int_equal(apply(f, 0, path, REG), 0);
	}
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "e/f%05d", (i * 7919) % N);
		assert_int_equal(apply(f, 0, path, i % 10 ? REG : DIR), 0);
	}
	assert_int_equal(find(f, "d")->n_children, N);
	assert_int_equal(find(f, "e")->n_children, N);
	/* a duplicate name is found, not added twice */
	assert_int_equal(apply(f, 0, "d/f01234", REG), 0);
	assert_int_equal(find(f, "d")->n_children, N);

	/* layer 1: every third of d/ whited out; e/ made opaque (twice) with a few new names */
	for (int i = 0; i < N; i += 3) {
		snprintf(path, sizeof(path), "d/.wh.f%05d", i);
		assert_int_equal(apply(f, 1, path, REG), 0);
	}
	assert_int_equal(apply(f, 1, "e/new1", REG), 0);
	assert_int_equal(apply(f, 1, "e/.wh..wh..opq", REG), 0);
	assert_int_equal(apply(f, 1, "e/new0", REG), 0);
	assert_int_equal(apply(f, 1, "e/.wh..wh..opq", REG), 0);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "d/f%05d", i);
		assert_true((find(f, path) != NULL) == (i % 3 != 0));
	}
	assert_int_equal(find(f, "d")->n_children, N - (N + 2) / 3);
	assert_int_equal(find(f, "e")->n_children, 2);
	assert_non_null(find(f, "e/new0"));
	assert_non_null(find(f, "e/new1"));
	assert_null(find(f, "e/f00001"));

	/* the walk sorts every directory: byte order, slots right */
	size_t count = 0;
	assert_int_equal(fs_tree_walk_post_order(f->tree->root, check_sorted, &count), 0);
	assert_int_equal(count, 1 + 2 + (N - (N + 2) / 3) + 2);
	/* still found after sorting, and removal keeps working */
	assert_int_equal(apply(f, 2, "d/.wh.f00001", REG), 0);
	assert_null(find(f, "d/f00001"));
	assert_non_null(find(f, "d/f02999"));
}

/* The bound on names per image counts the directories a path implies. */
static void test_entry_bound(void **state)
{
	struct fixture *f = *state;
	f->ctx.max_entries = 10;
	assert_int_equal(apply(f, 0, "a/b/c/d/e", REG), 0); /* 5 names */
	assert_int_equal(apply(f, 0, "a/b/c/d/e", REG), 0); /* replaced: 6 */
	assert_int_equal(apply(f, 0, "x/y/z/w/v", REG), -EFBIG);
	assert_int_equal(f->tree->n_names_created, 10);
	assert_int_equal(apply(f, 0, "a/b/c/d/g", REG), -EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_path),
		cmocka_unit_test_setup_teardown(test_whiteout_lower_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opaque, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_binds_inode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_directory_any_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_bound, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
