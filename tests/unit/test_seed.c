/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "seed.h"

static char tmp[] = "/tmp/test_seed.XXXXXX";

static void path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", tmp, rel);
}

static void write_text(const char *rel, const char *text)
{
	char p[256];
	path(p, sizeof(p), rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_copies_tree(void **unused)
{
	(void) unused;
	char src[256], dst[256], p[256], buf[64], link[64];
	path(src, sizeof(src), "src");
	path(dst, sizeof(dst), "dst");
	assert_int_equal(mkdir(src, 0750), 0);
	assert_int_equal(chmod(src, 0750), 0);
	path(p, sizeof(p), "src/sub");
	assert_int_equal(mkdir(p, 0700), 0);
	write_text("src/sub/file", "hello");
	path(p, sizeof(p), "src/sub/file");
	assert_int_equal(chmod(p, 0640), 0);
	path(p, sizeof(p), "src/link");
	assert_int_equal(symlink("sub/file", p), 0);
	/* A leftover from an interrupted seeding is replaced. */
	path(p, sizeof(p), "dst.seeding");
	assert_int_equal(mkdir(p, 0755), 0);
	write_text("dst.seeding/stale", "x");

	assert_int_equal(seed_directory(src, dst), 0);

	struct stat st;
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	path(p, sizeof(p), "dst/sub/file");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	size_t len = 0;
	assert_int_equal(read_file_bounded(p, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	path(p, sizeof(p), "dst/link");
	ssize_t n = readlink(p, link, sizeof(link) - 1);
	assert_int_equal(n, 8);
	link[n] = '\0';
	assert_string_equal(link, "sub/file");
	path(p, sizeof(p), "dst.seeding");
	assert_int_equal(access(p, F_OK), -1);
	path(p, sizeof(p), "dst/stale");
	assert_int_equal(access(p, F_OK), -1);
}

static void test_missing_source_gives_empty_dir(void **unused)
{
	(void) unused;
	char src[256], dst[256];
	path(src, sizeof(src), "nothing");
	path(dst, sizeof(dst), "empty");
	assert_int_equal(seed_directory(src, dst), 0);
	struct stat st;
	assert_int_equal(stat(dst, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static int teardown(void **unused)
{
	(void) unused;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	if (!mkdtemp(tmp))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copies_tree),
		cmocka_unit_test(test_missing_source_gives_empty_dir),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
