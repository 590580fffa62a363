/* SPDX-License-Identifier: Apache-2.0 */
/* build_record_string(): the settings line `sign --verity` signs and a
 * node's refusal prints (issue 17); whatever a library reports, the line is
 * one that simple_signing accepts as dev.kairos.verity.build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "build_record.h"
#include "simple_signing.h"

static void test_line(void **state)
{
	(void) state;
	struct build_record rec = {
		.format = 1,
		.compressor = "zstd",
		.level = 6,
		.block_size = 131072,
		.prescan = true,
		.libsquashfs = "libsquashfs.so.1.4.0",
		.libarchive = "3.6.2",
		.compressor_lib = "libzstd",
		.compressor_version = "1.5.4",
	};
	char line[BUILD_RECORD_STRING_MAX];
	build_record_string(&rec, line);
	assert_string_equal(line, "zstd:6 128K prescan format=1 libsquashfs.so.1.4.0 libzstd-1.5.4 libarchive-3.6.2");
	assert_true(simple_signing_verity_build_is_valid(line));

	rec.block_size = 4096 + 1;
	rec.prescan = false;
	build_record_string(&rec, line);
	assert_non_null(strstr(line, "zstd:6 4097 no-prescan "));
}

/* What the loaded libraries say is not ours: blanks, controls, bytes over
 * 0x7f and empty strings become '?', never a second field or an escape. */
static void test_hostile_library_strings(void **state)
{
	(void) state;
	struct build_record rec = { .format = 1, .compressor = "gzip", .level = 9, .block_size = 1 << 20 };
	memset(rec.libsquashfs, 'A', sizeof(rec.libsquashfs) - 1);
	strcpy(rec.libarchive, "3.6 \x1b[31m\xc3\xa9");
	strcpy(rec.compressor_version, "");
	char line[BUILD_RECORD_STRING_MAX];
	build_record_string(&rec, line);
	assert_true(simple_signing_verity_build_is_valid(line));
	assert_non_null(strstr(line, "gzip:9 1024K no-prescan format=1 AAAA"));
	assert_non_null(strstr(line, " unknown-? libarchive-3.6??[31m??"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_hostile_library_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
