/* SPDX-License-Identifier: Apache-2.0 */
/* Automated recovery's rules: the policy from the command line and
 * kairos.conf, and when `reset --auto` resets or declines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "corrupt_record.h"
#include "recovery_policy.h"

static enum recovery_policy from_cmdline(const char *text, int want_r)
{
	struct cmdline c;
	enum recovery_policy p = RECOVERY_POLICY_UNSET;
	assert_int_equal(cmdline_parse(text, &c), 0);
	assert_int_equal(recovery_policy_from_cmdline(&c, &p), want_r);
	cmdline_free(&c);
	return p;
}

static void test_policy_from_cmdline(void **unused)
{
	(void) unused;
	assert_int_equal(from_cmdline("root=kairos", 0), RECOVERY_POLICY_UNSET);
	assert_int_equal(from_cmdline("root=kairos kairos.recovery=auto", 1), RECOVERY_POLICY_AUTO);
	assert_int_equal(from_cmdline("kairos.recovery=auto kairos.recovery=off", 1), RECOVERY_POLICY_MANUAL);
	assert_int_equal(from_cmdline("kairos.recovery=manual", 1), RECOVERY_POLICY_MANUAL);
	assert_int_equal(from_cmdline("kairos.recovery=always", -EINVAL), RECOVERY_POLICY_UNSET);
	assert_int_equal(from_cmdline("kairos.recovery", 0), RECOVERY_POLICY_UNSET); /* bare: no value */
}

static void test_policy_from_conf(void **unused)
{
	(void) unused;
	enum recovery_policy p = RECOVERY_POLICY_UNSET;
	assert_int_equal(recovery_policy_from_conf("", &p), 0);
	assert_int_equal(recovery_policy_from_conf("# recovery=auto\nother=1\n", &p), 0);
	assert_int_equal(p, RECOVERY_POLICY_UNSET);
	assert_int_equal(recovery_policy_from_conf("  recovery = auto \r\n", &p), 1);
	assert_int_equal(p, RECOVERY_POLICY_AUTO);
	assert_int_equal(recovery_policy_from_conf("kairos.recovery=off\n", &p), 1);
	assert_int_equal(p, RECOVERY_POLICY_MANUAL);
	p = RECOVERY_POLICY_UNSET;
	assert_int_equal(recovery_policy_from_conf("recovery=sometimes\n", &p), -EINVAL);
	assert_int_equal(p, RECOVERY_POLICY_UNSET);
	/* A bad line does not hide a good one. */
	assert_int_equal(recovery_policy_from_conf("recovery=sometimes\nrecovery=auto\n", &p), 1);
	assert_int_equal(p, RECOVERY_POLICY_AUTO);
}

static enum recovery_action decide(enum boot_slot booted, const char *reason, bool requested,
				   enum recovery_policy policy, unsigned auto_resets, char *why)
{
	struct recovery_facts f = { .booted = booted,
				    .reason = reason,
				    .reset_requested = requested,
				    .policy = policy,
				    .policy_source = "test",
				    .auto_resets = auto_resets };
	return recovery_decide(&f, why, 512);
}

static void test_decide(void **unused)
{
	(void) unused;
	char why[512];
	const enum boot_slot rec = BOOT_SLOT_RECOVERY;

	assert_int_equal(decide(BOOT_SLOT_ACTIVE, "fallback", true, RECOVERY_POLICY_AUTO, 0, why),
			 RECOVERY_NOT_IN_RECOVERY);
	assert_int_equal(decide(BOOT_SLOT_PASSIVE, "fallback", false, RECOVERY_POLICY_AUTO, 0, why),
			 RECOVERY_NOT_IN_RECOVERY);

	/* GRUB's "reset from recovery": a person asked; no policy, no guard. */
	assert_int_equal(decide(rec, "menu", true, RECOVERY_POLICY_UNSET, RESET_AUTO_MAX, why),
			 RECOVERY_RESET_REQUESTED);

	assert_int_equal(decide(rec, "fallback", false, RECOVERY_POLICY_UNSET, 0, why), RECOVERY_DECLINE);
	assert_non_null(strstr(why, "automated recovery is off (not set)"));
	assert_int_equal(decide(rec, "fallback", false, RECOVERY_POLICY_MANUAL, 0, why), RECOVERY_DECLINE);
	assert_non_null(strstr(why, "automated recovery is off (test)"));

	/* A person's choice of recovery is left alone. */
	assert_int_equal(decide(rec, "one-shot", false, RECOVERY_POLICY_AUTO, 0, why), RECOVERY_DECLINE);
	assert_non_null(strstr(why, "chosen (one-shot)"));
	assert_int_equal(decide(rec, "menu", false, RECOVERY_POLICY_AUTO, 0, why), RECOVERY_DECLINE);
	assert_int_equal(decide(rec, NULL, false, RECOVERY_POLICY_AUTO, 0, why), RECOVERY_DECLINE);

	assert_int_equal(decide(rec, "fallback", false, RECOVERY_POLICY_AUTO, 0, why), RECOVERY_RESET_AUTO);
	assert_non_null(strstr(why, "automated reset 1 of at most 2"));
	assert_int_equal(decide(rec, "fallback", false, RECOVERY_POLICY_AUTO, RESET_AUTO_MAX - 1, why),
			 RECOVERY_RESET_AUTO);
	/* The loop guard. */
	assert_int_equal(decide(rec, "fallback", false, RECOVERY_POLICY_AUTO, RESET_AUTO_MAX, why), RECOVERY_DECLINE);
	assert_non_null(strstr(why, "loop guard: 2 automated resets"));
	assert_int_equal(decide(rec, "fallback", false, RECOVERY_POLICY_AUTO, 7, why), RECOVERY_DECLINE);

	assert_string_equal(recovery_action_to_string(RECOVERY_DECLINE), "declined");
	assert_string_equal(recovery_action_to_string(RECOVERY_RESET_AUTO), "reset");
}

/* mark-corrupt's reboot of a corrupt running active: on unless a person
 * turned automated recovery off. */
static void test_reboots_on_corrupt(void **unused)
{
	(void) unused;
	assert_true(recovery_policy_reboots_on_corrupt(RECOVERY_POLICY_UNSET));
	assert_true(recovery_policy_reboots_on_corrupt(RECOVERY_POLICY_AUTO));
	assert_false(recovery_policy_reboots_on_corrupt(RECOVERY_POLICY_MANUAL));
	assert_false(recovery_policy_reboots_on_corrupt(from_cmdline("kairos.recovery=off", 1)));
}

/* The reason fits state.env's bound whole, whatever the block number. */
static void test_corrupt_reason(void **unused)
{
	(void) unused;
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char buf[SLOT_REASON_MAX];
	corrupt_reason(buf, sizeof(buf), "data", 1234, id);
	assert_string_equal(buf, "dm-verity: data block 1234 of image 0123456789ab corrupt");
	corrupt_reason(buf, sizeof(buf), "superblock", CORRUPT_BLOCK_MAX, id);
	assert_string_equal(buf, "dm-verity: superblock block 2199023255552 of image 0123 corrupt");
	corrupt_reason(buf, sizeof(buf), "end of file", 9, id);
	assert_string_equal(buf, "dm-verity: image 0123456789ab truncated at block 9");
	uint64_t b;
	assert_int_equal(corrupt_block_parse("0", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(corrupt_block_parse("2199023255552", &b), 0);
	assert_int_equal(corrupt_block_parse("2199023255553", &b), -ERANGE);
	assert_int_equal(corrupt_block_parse("18446744073709551616", &b), -ERANGE);
	assert_int_equal(corrupt_block_parse("01", &b), -EINVAL);
	assert_int_equal(corrupt_block_parse("+1", &b), -EINVAL);
	assert_int_equal(corrupt_block_parse(" 1", &b), -EINVAL);
	assert_int_equal(corrupt_block_parse("", &b), -EINVAL);
	assert_null(corrupt_area_from_string("metadata"));
	assert_string_equal(corrupt_area_from_string("hash"), "hash");
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_from_cmdline),
		cmocka_unit_test(test_policy_from_conf),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_reboots_on_corrupt),
		cmocka_unit_test(test_corrupt_reason),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
