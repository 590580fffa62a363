/* SPDX-License-Identifier: Apache-2.0 */
/* What the pre-scan concludes is hidden, per OCI rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "layer_prescan.h"

static void test_shadow_rules(void **state)
{
	(void) state;
	struct shadow_set *s;
	assert_int_equal(shadow_set_new(&s), 0);

	assert_int_equal(shadow_set_record(s, 1, "etc/.wh.gone", false), 0);
	assert_int_equal(shadow_set_record(s, 1, "opq/.wh..wh..opq", false), 0);
	assert_int_equal(shadow_set_record(s, 2, "usr", true), 0);
	assert_int_equal(shadow_set_record(s, 2, "lib", false), 0);
	assert_int_equal(shadow_set_record(s, 2, "bin/ls", false), 0);
	assert_int_equal(shadow_set_record(s, 2, "x/.wh..wh.plnk", false), 0);

	/* whiteout: the path and everything below, for lower layers only */
	assert_true(shadow_set_hides(s, "etc/gone", 0));
	assert_true(shadow_set_hides(s, "etc/gone/deep/file", 0));
	assert_false(shadow_set_hides(s, "etc/gone", 1));
	assert_false(shadow_set_hides(s, "etc/gonex", 0));
	/* opaque: lower children; a lower *file* named like the directory is
	 * replaced by it (only regular files are ever asked about) */
	assert_true(shadow_set_hides(s, "opq/a", 0));
	assert_true(shadow_set_hides(s, "opq", 0));
	assert_false(shadow_set_hides(s, "opq/a", 1));
	/* a directory above a directory merges; above a file replaces it */
	assert_false(shadow_set_hides(s, "usr/bin/ls", 0));
	assert_true(shadow_set_hides(s, "usr", 1));
	/* a non-directory replaces the lower subtree */
	assert_true(shadow_set_hides(s, "lib/libc.so", 1));
	assert_true(shadow_set_hides(s, "bin/ls", 1));
	assert_false(shadow_set_hides(s, "bin/ls", 2));
	assert_false(shadow_set_hides(s, "x/y", 0));

	/* many paths: the table grows */
	char p[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(p, sizeof(p), "many/f%d", i);
		assert_int_equal(shadow_set_record(s, 3, p, false), 0);
	}
	assert_true(shadow_set_hides(s, "many/f4999", 2));
	assert_true(shadow_set_hides(s, "etc/gone", 0));
	shadow_set_free(s);

	/* an opaque root hides every lower file */
	assert_int_equal(shadow_set_new(&s), 0);
	assert_int_equal(shadow_set_record(s, 1, ".wh..wh..opq", false), 0);
	assert_true(shadow_set_hides(s, "any/file", 0));
	shadow_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shadow_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
