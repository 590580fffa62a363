/* SPDX-License-Identifier: Apache-2.0 */
/* The grubenv reader/writer, including interop both ways with the real
 * grub-editenv (from grub-common; nothing is mocked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "grubenv.h"
#include "util.h"

static char tmpdir[] = "/tmp/test-grubenv-XXXXXX";

static int setup(void **unused)
{
	(void) unused;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **unused)
{
	(void) unused;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

static char *path_in_tmp(const char *name)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
	return p;
}

/* Run a shell command and return its stdout. */
static char *run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char *out = calloc(1, 8192);
	assert_non_null(out);
	size_t n = fread(out, 1, 8191, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	return out;
}

static void test_roundtrip(void **unused)
{
	(void) unused;
	struct grubenv env = { 0 }, back;
	char block[GRUBENV_SIZE];

	assert_int_equal(grubenv_set(&env, "kairos_active", "abc"), 0);
	assert_int_equal(grubenv_set(&env, "tricky", "back\\slash\nnew line=equals"), 0);
	assert_int_equal(grubenv_set(&env, "empty", ""), 0);
	assert_int_equal(grubenv_set(&env, "kairos_active", "def"), 0); /* replaces */
	assert_int_equal(grubenv_format(&env, block), 0);
	assert_memory_equal(block, GRUBENV_HEADER, strlen(GRUBENV_HEADER));
	assert_int_equal(block[GRUBENV_SIZE - 1], '#');

	assert_int_equal(grubenv_parse(block, sizeof(block), &back), 0);
	assert_int_equal(back.n_vars, 3);
	assert_string_equal(grubenv_get(&back, "kairos_active"), "def");
	assert_string_equal(grubenv_get(&back, "tricky"), "back\\slash\nnew line=equals");
	assert_string_equal(grubenv_get(&back, "empty"), "");
	assert_null(grubenv_get(&back, "missing"));

	assert_int_equal(grubenv_unset(&back, "tricky"), 0);
	assert_int_equal(grubenv_unset(&back, "tricky"), 0);
	assert_null(grubenv_get(&back, "tricky"));
	grubenv_free(&env);
	grubenv_free(&back);
}

static void test_refuses_bad_names(void **unused)
{
	(void) unused;
	struct grubenv env = { 0 };
	assert_int_equal(grubenv_set(&env, "", "x"), -EINVAL);
	assert_int_equal(grubenv_set(&env, "a=b", "x"), -EINVAL);
	assert_int_equal(grubenv_set(&env, "a\nb", "x"), -EINVAL);
	assert_int_equal(grubenv_set(&env, "#a", "x"), -EINVAL);
	assert_int_equal(env.n_vars, 0);
}

static void test_never_more_than_a_block(void **unused)
{
	(void) unused;
	struct grubenv env = { 0 };
	char block[GRUBENV_SIZE + 16];
	char value[600];
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	memset(block, 'X', sizeof(block));

	assert_int_equal(grubenv_set(&env, "one", value), 0);
	assert_int_equal(grubenv_format(&env, block), 0);
	assert_int_equal(grubenv_set(&env, "two", value), 0);
	assert_int_equal(grubenv_format(&env, block), -ENOSPC);
	/* Nothing written past the block, even when it did not fit. */
	for (size_t i = GRUBENV_SIZE; i < sizeof(block); i++)
		assert_int_equal(block[i], 'X');

	/* Exactly full: header + "k=" + value + "\n" == 1024 fits with no padding. */
	grubenv_free(&env);
	char exact[GRUBENV_SIZE];
	size_t vlen = GRUBENV_SIZE - strlen(GRUBENV_HEADER) - 3;
	char *v = malloc(vlen + 1);
	memset(v, 'x', vlen);
	v[vlen] = '\0';
	assert_int_equal(grubenv_set(&env, "k", v), 0);
	assert_int_equal(grubenv_format(&env, exact), 0);
	assert_int_equal(exact[GRUBENV_SIZE - 1], '\n');
	free(v);
	grubenv_free(&env);
}

static void test_damaged_blocks(void **unused)
{
	(void) unused;
	struct grubenv env = { 0 }, back;
	char block[GRUBENV_SIZE], bad[GRUBENV_SIZE];
	assert_int_equal(grubenv_set(&env, "a", "1"), 0);
	assert_int_equal(grubenv_format(&env, block), 0);
	grubenv_free(&env);

	/* As GRUB 2.06 reads it (issue 18 #7): only the header is checked. */
	assert_int_equal(grubenv_parse(block, strlen(GRUBENV_HEADER), &back), -EMSGSIZE);
	assert_int_equal(grubenv_parse(block, 0, &back), -EMSGSIZE);
	/* another size: read, as GRUB does */
	assert_int_equal(grubenv_parse(block, GRUBENV_SIZE - 1, &back), 0);
	assert_string_equal(grubenv_get(&back, "a"), "1");
	grubenv_free(&back);
	/* damaged header */
	memcpy(bad, block, sizeof(bad));
	bad[2] = 'g';
	assert_int_equal(grubenv_parse(bad, sizeof(bad), &back), -EBADMSG);
	/* garbage everywhere */
	for (size_t i = 0; i < sizeof(bad); i++)
		bad[i] = (char) (i * 7 + 3);
	assert_int_equal(grubenv_parse(bad, sizeof(bad), &back), -EBADMSG);
	/* a NUL byte ends a value, as in GRUB's C strings */
	memcpy(bad, block, sizeof(bad));
	const char *nul = "x=ab\0cd\ny=2\n";
	memcpy(bad + strlen(GRUBENV_HEADER), nul, 13);
	assert_int_equal(grubenv_parse(bad, sizeof(bad), &back), 0);
	assert_string_equal(grubenv_get(&back, "x"), "ab");
	assert_string_equal(grubenv_get(&back, "y"), "2");
	grubenv_free(&back);
	/* a line without '=': its name runs into the next line's, which is lost */
	memcpy(bad, block, sizeof(bad));
	const char *garbage = "garbage\na=2\nb=3\n";
	memcpy(bad + strlen(GRUBENV_HEADER), garbage, strlen(garbage));
	assert_int_equal(grubenv_parse(bad, sizeof(bad), &back), 0);
	assert_null(grubenv_get(&back, "a"));
	assert_string_equal(grubenv_get(&back, "b"), "3");
	grubenv_free(&back);
	/* a variable cut off by the end of the block: reading stops there */
	memcpy(bad, block, sizeof(bad));
	const char *torn = "k=1\n";
	memcpy(bad + strlen(GRUBENV_HEADER), torn, strlen(torn));
	memset(bad + strlen(GRUBENV_HEADER) + 4, 'z', sizeof(bad) - strlen(GRUBENV_HEADER) - 4);
	bad[strlen(GRUBENV_HEADER) + 6] = '=';
	assert_int_equal(grubenv_parse(bad, sizeof(bad), &back), 0);
	assert_string_equal(grubenv_get(&back, "k"), "1");
	assert_int_equal(back.n_vars, 1);
	grubenv_free(&back);
	/* every comment line is skipped, not only the first */
	memcpy(bad, block, sizeof(bad));
	const char *body = "# WARNING: comment\nx=1\n# another\ny=2\n";
	memcpy(bad + strlen(GRUBENV_HEADER), body, strlen(body));
	assert_int_equal(grubenv_parse(bad, sizeof(bad), &back), 0);
	assert_string_equal(grubenv_get(&back, "y"), "2");
	grubenv_free(&back);

	/* files: truncated and longer ones are read as GRUB does; over the bound, refused */
	_cleanup_free_ char *path = path_in_tmp("damaged.env");
	FILE *f = fopen(path, "w");
	fwrite(block, 1, 700, f);
	fclose(f);
	assert_int_equal(grubenv_read_file(path, &back), 0);
	assert_string_equal(grubenv_get(&back, "a"), "1");
	grubenv_free(&back);
	f = fopen(path, "w");
	fwrite(block, 1, sizeof(block), f);
	for (int i = 0; i < GRUBENV_READ_MAX / 900; i++)
		fwrite(block + strlen(GRUBENV_HEADER), 1, sizeof(block) - strlen(GRUBENV_HEADER), f);
	fclose(f);
	assert_int_equal(grubenv_read_file(path, &back), -EMSGSIZE);
	assert_int_equal(grubenv_read_file("/nonexistent/grubenv", &back), -ENOENT);
}

static void test_grub_editenv_reads_ours(void **unused)
{
	(void) unused;
	_cleanup_free_ char *path = path_in_tmp("ours.env");
	struct grubenv env = { 0 };
	assert_int_equal(grubenv_set(&env, "kairos_active", "0123"), 0);
	assert_int_equal(grubenv_set(&env, "with_space", "a b"), 0);
	assert_int_equal(grubenv_set(&env, "esc", "x\\y"), 0);
	assert_int_equal(grubenv_write_file_atomic(path, &env), 0);
	grubenv_free(&env);

	_cleanup_free_ char *out = run("grub-editenv %s list", path);
	assert_string_equal(out, "kairos_active=0123\nwith_space=a b\nesc=x\\y\n");

	/* grub-editenv edits our block; we read its edit. */
	free(run("grub-editenv %s set added=1 && grub-editenv %s unset with_space", path, path));
	assert_int_equal(grubenv_read_file(path, &env), 0);
	assert_string_equal(grubenv_get(&env, "added"), "1");
	assert_null(grubenv_get(&env, "with_space"));
	assert_string_equal(grubenv_get(&env, "esc"), "x\\y");
	grubenv_free(&env);
}

static void test_we_read_grub_editenv(void **unused)
{
	(void) unused;
	_cleanup_free_ char *path = path_in_tmp("theirs.env");
	free(run("grub-editenv %s create && grub-editenv %s set a=1 b='two words' c= && "
		 "grub-editenv %s set a=3 && grub-editenv %s unset b",
		 path, path, path, path));

	struct grubenv env;
	assert_int_equal(grubenv_read_file(path, &env), 0);
	assert_int_equal(env.n_vars, 2);
	assert_string_equal(grubenv_get(&env, "a"), "3");
	assert_string_equal(grubenv_get(&env, "c"), "");
	assert_null(grubenv_get(&env, "b"));

	/* Rewrite in place, as GRUB's save_env would: same inode, same size. */
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(grubenv_set(&env, "a", "4"), 0);
	assert_int_equal(grubenv_write_file_in_place(path, &env), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(after.st_size, GRUBENV_SIZE);
	grubenv_free(&env);

	_cleanup_free_ char *out = run("grub-editenv %s list", path);
	assert_string_equal(out, "a=4\nc=\n");
}

static void test_in_place_replaces_sparse_or_resized(void **unused)
{
	(void) unused;
	_cleanup_free_ char *path = path_in_tmp("sparse.env");
	char cmd[512];
	/* A sparse 1024-byte file: GRUB could not write into it; we must replace it. */
	snprintf(cmd, sizeof(cmd), "truncate -s 1024 %s", path);
	assert_int_equal(system(cmd), 0);
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);

	struct grubenv env = { 0 };
	assert_int_equal(grubenv_set(&env, "a", "1"), 0);
	assert_int_equal(grubenv_write_file_in_place(path, &env), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
	assert_true(after.st_blocks * 512 >= GRUBENV_SIZE);
	grubenv_free(&env);
	assert_int_equal(grubenv_read_file(path, &env), 0);
	assert_string_equal(grubenv_get(&env, "a"), "1");
	grubenv_free(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refuses_bad_names),
		cmocka_unit_test(test_never_more_than_a_block),
		cmocka_unit_test(test_damaged_blocks),
		cmocka_unit_test(test_grub_editenv_reads_ours),
		cmocka_unit_test(test_we_read_grub_editenv),
		cmocka_unit_test(test_in_place_replaces_sparse_or_resized),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
