/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>

#include "cmdline.h"
#include "util.h"

static void test_words_and_values(void **unused)
{
	(void) unused;
	struct cmdline c;
	assert_int_equal(cmdline_parse("BOOT_IMAGE=/boot/vmlinuz root=kairos  ro\tquiet\n"
				       "kairos.slot=passive kairos.overlay=/etc,/var empty=",
				       &c),
			 0);
	assert_int_equal(c.n_args, 7);
	assert_string_equal(cmdline_get(&c, "root"), "kairos");
	assert_string_equal(cmdline_get(&c, "kairos.slot"), "passive");
	assert_string_equal(cmdline_get(&c, "kairos.overlay"), "/etc,/var");
	assert_string_equal(cmdline_get(&c, "empty"), "");
	assert_null(cmdline_get(&c, "ro")); /* bare */
	assert_true(cmdline_has(&c, "ro"));
	assert_true(cmdline_has(&c, "quiet"));
	assert_false(cmdline_has(&c, "kairos"));
	assert_null(cmdline_get(&c, "missing"));
	cmdline_free(&c);
}

static void test_quotes(void **unused)
{
	(void) unused;
	struct cmdline c;
	assert_int_equal(cmdline_parse("a=\"two words\" \"b=quoted whole\" c=x\"y z\"w d=\"unterminated tail", &c), 0);
	assert_int_equal(c.n_args, 4);
	assert_string_equal(cmdline_get(&c, "a"), "two words");
	assert_string_equal(cmdline_get(&c, "b"), "quoted whole");
	assert_string_equal(cmdline_get(&c, "c"), "xy zw");
	assert_string_equal(cmdline_get(&c, "d"), "unterminated tail");
	cmdline_free(&c);

	assert_int_equal(cmdline_parse("\"\" x=\"\"", &c), 0);
	assert_int_equal(c.n_args, 1);
	assert_string_equal(cmdline_get(&c, "x"), "");
	cmdline_free(&c);
}

static void test_repeated_keys(void **unused)
{
	(void) unused;
	struct cmdline c;
	assert_int_equal(cmdline_parse("console=tty0 console=ttyS0,115200 kairos.slot=active kairos.slot=recovery", &c),
			 0);
	/* The last one wins, as in the kernel... */
	assert_string_equal(cmdline_get(&c, "console"), "ttyS0,115200");
	assert_string_equal(cmdline_get(&c, "kairos.slot"), "recovery");
	/* ...and every one can be visited. */
	size_t pos = 0;
	assert_string_equal(cmdline_next(&c, "console", &pos), "tty0");
	assert_string_equal(cmdline_next(&c, "console", &pos), "ttyS0,115200");
	assert_null(cmdline_next(&c, "console", &pos));
	cmdline_free(&c);
}

static void test_init_args_are_not_ours(void **unused)
{
	(void) unused;
	struct cmdline c;
	assert_int_equal(cmdline_parse("root=kairos -- kairos.slot=passive single", &c), 0);
	assert_int_equal(c.n_args, 1);
	assert_null(cmdline_get(&c, "kairos.slot"));
	cmdline_free(&c);
}

static void test_empty_and_files(void **unused)
{
	(void) unused;
	struct cmdline c;
	assert_int_equal(cmdline_parse("", &c), 0);
	assert_int_equal(c.n_args, 0);
	cmdline_free(&c);
	assert_int_equal(cmdline_parse(" \n\t ", &c), 0);
	assert_int_equal(c.n_args, 0);
	cmdline_free(&c);

	char path[] = "/tmp/test-cmdline-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "root=kairos kairos.state=MY_STATE\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t) sizeof(text) - 1);
	close(fd);
	assert_int_equal(cmdline_read_file(path, &c), 0);
	assert_string_equal(cmdline_get(&c, "kairos.state"), "MY_STATE");
	cmdline_free(&c);

	/* A NUL inside is not a command line. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "a=1\0b=2", 7), 7);
	close(fd);
	assert_int_equal(cmdline_read_file(path, &c), -EBADMSG);
	unlink(path);
	assert_int_equal(cmdline_read_file("/nonexistent/cmdline", &c), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_and_values), cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_repeated_keys),    cmocka_unit_test(test_init_args_are_not_ours),
		cmocka_unit_test(test_empty_and_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
