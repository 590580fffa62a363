/* SPDX-License-Identifier: Apache-2.0 */
/* struct membuf: every append is charged to the limit given at creation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "membuf.h"

static void test_within_limit(void **state)
{
	(void) state;
	struct membuf m = MEMBUF_INIT(10);
	assert_int_equal(membuf_append(&m, "hello", 5), 0);
	assert_int_equal(membuf_sink(&m, "world", 5), 0); /* exactly the limit */
	assert_int_equal(m.size, 10);
	assert_string_equal(m.data, "helloworld");
	size_t size = 0;
	char *s = membuf_steal(&m, &size);
	assert_int_equal(size, 10);
	assert_string_equal(s, "helloworld");
	assert_null(m.data);
	assert_int_equal(m.size, 0);
	free(s);
}

static void test_past_limit(void **state)
{
	(void) state;
	struct membuf m = MEMBUF_INIT(4);
	assert_int_equal(membuf_append(&m, "abc", 3), 0);
	/* refused whole: nothing of it is kept */
	assert_int_equal(membuf_append(&m, "de", 2), -EFBIG);
	assert_int_equal(m.size, 3);
	assert_string_equal(m.data, "abc");
	assert_int_equal(membuf_append(&m, "d", 1), 0);
	assert_int_equal(membuf_append(&m, "", 0), 0);
	assert_int_equal(membuf_append(&m, "e", 1), -EFBIG);
	assert_true(m.allocated <= 5); /* never more than the limit and its NUL */
	membuf_done(&m);
	assert_null(m.data);
}

static void test_growth_and_reset(void **state)
{
	(void) state;
	char chunk[1000];
	memset(chunk, 'x', sizeof(chunk));
	struct membuf m = MEMBUF_INIT(1000 * 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(membuf_append(&m, chunk, sizeof(chunk)), 0);
	assert_int_equal(m.size, 1000 * 1000);
	assert_int_equal(m.data[m.size], '\0');
	assert_int_equal(membuf_append(&m, "y", 1), -EFBIG);
	membuf_reset(&m); /* a retried request starts over, within the same limit */
	assert_int_equal(m.size, 0);
	assert_int_equal(membuf_append(&m, chunk, sizeof(chunk)), 0);
	membuf_done(&m);
}

static void test_steal_empty(void **state)
{
	(void) state;
	struct membuf m = MEMBUF_INIT(0);
	assert_int_equal(membuf_append(&m, "a", 1), -EFBIG);
	size_t size = 1;
	char *s = membuf_steal(&m, &size);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(size, 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_within_limit),
		cmocka_unit_test(test_past_limit),
		cmocka_unit_test(test_growth_and_reset),
		cmocka_unit_test(test_steal_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
