/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "mount_plan.h"

static struct mount_plan plan; /* large: not on the stack */

static void expect_step(size_t i, enum mount_kind kind, const char *path, const char *name)
{
	assert_true(i < plan.n);
	assert_int_equal(plan.steps[i].kind, kind);
	assert_string_equal(plan.steps[i].path, path);
	assert_string_equal(plan.steps[i].name, name);
}

static void test_active_with_persistent(void **unused)
{
	(void) unused;
	struct boot_options o;
	boot_options_init(&o);
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_ACTIVE, true, &plan), 0);
	assert_true(plan.persistent);
	/* Parents first: the binds on /var/log and /etc/ssh go on top of the
	 * /var and /etc overlays, not under them. */
	assert_int_equal(plan.n, 9);
	expect_step(0, MOUNT_OVERLAY, "/etc", "etc");
	expect_step(1, MOUNT_OVERLAY, "/var", "var");
	expect_step(2, MOUNT_OVERLAY, "/srv", "srv");
	expect_step(3, MOUNT_OVERLAY, "/tmp", "tmp");
	expect_step(4, MOUNT_BIND, "/home", "home");
	expect_step(5, MOUNT_BIND, "/root", "root");
	expect_step(6, MOUNT_BIND, "/opt", "opt");
	expect_step(7, MOUNT_BIND, "/var/log", "var-log");
	expect_step(8, MOUNT_BIND, "/etc/ssh", "etc-ssh");
}

static void test_recovery_is_tmpfs_only(void **unused)
{
	(void) unused;
	struct boot_options o;
	boot_options_init(&o);
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_RECOVERY, true, &plan), 0);
	assert_false(plan.persistent);
	/* Persistent paths not already under an overlay get their own. */
	assert_int_equal(plan.n, 7);
	expect_step(0, MOUNT_OVERLAY, "/etc", "etc");
	expect_step(1, MOUNT_OVERLAY, "/var", "var");
	expect_step(2, MOUNT_OVERLAY, "/srv", "srv");
	expect_step(3, MOUNT_OVERLAY, "/tmp", "tmp");
	expect_step(4, MOUNT_OVERLAY, "/home", "home");
	expect_step(5, MOUNT_OVERLAY, "/root", "root");
	expect_step(6, MOUNT_OVERLAY, "/opt", "opt");
	for (size_t i = 0; i < plan.n; i++)
		assert_int_equal(plan.steps[i].kind, MOUNT_OVERLAY);
}

static void test_missing_persistent_is_like_recovery(void **unused)
{
	(void) unused;
	struct boot_options o;
	boot_options_init(&o);
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_PASSIVE, false, &plan), 0);
	assert_false(plan.persistent);
	assert_int_equal(plan.n, 7);
	expect_step(6, MOUNT_OVERLAY, "/opt", "opt");
}

static void test_path_in_both_lists_is_a_bind(void **unused)
{
	(void) unused;
	struct boot_options o;
	boot_options_init(&o);
	assert_int_equal(path_list_parse("/var/lib/x,/etc,/var", &o.overlay), 0);
	assert_int_equal(path_list_parse("/var,/data/a-b", &o.persistent), 0);
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_ACTIVE, true, &plan), 0);
	assert_int_equal(plan.n, 4);
	expect_step(0, MOUNT_OVERLAY, "/etc", "etc");
	expect_step(1, MOUNT_BIND, "/var", "var");
	expect_step(2, MOUNT_BIND, "/data/a-b", "data-a_2db");
	expect_step(3, MOUNT_OVERLAY, "/var/lib/x", "var-lib-x"); /* on top of the /var bind */

	/* Without persistent, /var is an overlay once. */
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_ACTIVE, false, &plan), 0);
	assert_int_equal(plan.n, 4);
	expect_step(1, MOUNT_OVERLAY, "/var", "var");
	expect_step(2, MOUNT_OVERLAY, "/data/a-b", "data-a_2db");
}

static void test_escape(void **unused)
{
	(void) unused;
	char buf[64];
	assert_int_equal(path_escape("/var/log", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "var-log");
	/* "/var-log" and "/var/log" must not share data. */
	assert_int_equal(path_escape("/var-log", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "var_2dlog");
	assert_int_equal(path_escape("/a_b/c.d", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a_5fb-c.d");
	assert_int_equal(path_escape("/", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(path_escape("/abcdef", buf, 4), -ENAMETOOLONG);
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_active_with_persistent),
		cmocka_unit_test(test_recovery_is_tmpfs_only),
		cmocka_unit_test(test_missing_persistent_is_like_recovery),
		cmocka_unit_test(test_path_in_both_lists_is_a_bind),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
