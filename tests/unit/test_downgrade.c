/* SPDX-License-Identifier: Apache-2.0 */
/* Anti-downgrade: versions, creation times, and the rule between them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "downgrade.h"

static void test_rfc3339(void **unused)
{
	(void) unused;
	int64_t sec;
	uint32_t nsec;
	assert_int_equal(rfc3339_parse("1970-01-01T00:00:00Z", &sec, &nsec), 0);
	assert_int_equal(sec, 0);
	assert_int_equal(rfc3339_parse("2024-05-01T12:00:00.5+02:00", &sec, &nsec), 0);
	assert_int_equal(sec, 1714557600);
	assert_int_equal(nsec, 500000000);
	assert_int_equal(rfc3339_parse("2024-05-01t10:00:00.123456789z", &sec, &nsec), 0);
	assert_int_equal(sec, 1714557600);
	assert_int_equal(nsec, 123456789);
	assert_int_equal(rfc3339_parse("2024-02-29T00:00:00-00:30", &sec, &nsec), 0);
	assert_int_equal(sec, 1709166600);
	assert_int_equal(rfc3339_parse("1969-12-31T23:59:59Z", &sec, &nsec), 0);
	assert_int_equal(sec, -1);
	static const char *const bad[] = {
		"",
		"2024-05-01",
		"2024-05-01T12:00:00",
		"2024-05-01 12:00:00Z",
		"2023-02-29T00:00:00Z",
		"2024-13-01T00:00:00Z",
		"2024-00-01T00:00:00Z",
		"2024-04-31T00:00:00Z",
		"2024-05-01T24:00:00Z",
		"2024-05-01T12:60:00Z",
		"2024-05-01T12:00:61Z",
		"2024-05-01T12:00:00.Z",
		"2024-05-01T12:00:00.1234567890Z",
		"2024-05-01T12:00:00+2:00",
		"2024-05-01T12:00:00+02:00x",
		"2024-05-01T12:00:00Zx",
		"+2024-05-01T12:00:00Z",
		"2024-05-01T12:00:00+24:00",
		"2024-5-01T12:00:00Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rfc3339_parse(bad[i], &sec, &nsec) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(rfc3339_parse(NULL, &sec, &nsec), -EINVAL);
}

static int cmp(const char *a, const char *b)
{
	int error;
	int c = version_compare(a, b, &error);
	assert_int_equal(error, 0);
	return c;
}

static void test_versions(void **unused)
{
	(void) unused;
	assert_true(cmp("1.2.3", "1.2.4") < 0);
	assert_true(cmp("v1.10.0", "v1.9.9") > 0);
	assert_int_equal(cmp("1.2", "1.2.0"), 0);
	assert_int_equal(cmp("v1.2.0", "1.2.0"), 0);
	assert_true(cmp("1.2.0-rc1", "1.2.0") < 0);
	assert_true(cmp("1.2.0", "1.2.0-rc1") > 0);
	assert_true(cmp("1.2.0-rc.2", "1.2.0-rc.10") < 0);
	assert_true(cmp("1.2.0-alpha", "1.2.0-alpha.1") < 0);
	assert_true(cmp("1.2.0-alpha.1", "1.2.0-alpha.beta") < 0);
	assert_true(cmp("1.2.0-beta", "1.2.0-alpha") > 0);
	assert_int_equal(cmp("1.2.0+build.1", "1.2.0+build.2"), 0);
	assert_true(cmp("v3.1.2-k3sv1.29.3+k3s1", "v3.1.2-k3sv1.30.0+k3s1") < 0);
	assert_true(cmp("2024.05.1", "2024.5.0") > 0);
	assert_true(cmp("1.2.0-rc.0002", "1.2.0-rc.10") < 0);

	static const char *const bad[] = { "",
					   "latest",
					   "v",
					   "1.",
					   ".1",
					   "1..2",
					   "1.2.x",
					   "1.2-",
					   "1.2+",
					   "1.2-a..b",
					   "1.2-a_b",
					   "1.2 ",
					   "2024-05",
					   "1234567890123456789",
					   "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int error;
		version_compare(bad[i], "1.0", &error);
		if (error != -EINVAL)
			fail_msg("accepted version \"%s\"", bad[i]);
	}
	int error;
	version_compare(NULL, "1.0", &error);
	assert_int_equal(error, -EINVAL);
}

static enum downgrade_verdict decide(const char *ac, const char *av, const char *cc, const char *cv, char *why)
{
	struct image_age active = { .created = ac, .version = av }, candidate = { .created = cc, .version = cv };
	return downgrade_decide(&active, &candidate, why, 256);
}

static void test_decide(void **unused)
{
	(void) unused;
	char why[256];
	const char *t1 = "2024-01-01T00:00:00Z", *t2 = "2024-06-01T00:00:00Z";

	/* Versions decide when both have one and they differ, whatever the dates. */
	assert_int_equal(decide(t1, "1.3.0", t2, "1.2.9", why), DOWNGRADE_OLDER);
	assert_non_null(strstr(why, "version 1.2.9 is older than the active 1.3.0"));
	assert_int_equal(decide(t2, "1.2.9", t1, "1.3.0", why), DOWNGRADE_NEWER);
	/* The same version: the dates decide (an older rebuild is a replay). */
	assert_int_equal(decide(t2, "1.3.0", t1, "v1.3.0", why), DOWNGRADE_OLDER);
	assert_non_null(strstr(why, "created 2024-01-01T00:00:00Z, before the active image"));
	assert_int_equal(decide(t1, "1.3.0", t2, "1.3.0", why), DOWNGRADE_NEWER);
	assert_int_equal(decide(t1, "1.3.0", t1, "1.3.0", why), DOWNGRADE_SAME);
	/* One side without a (parsable) version: the dates. */
	assert_int_equal(decide(t2, "1.3.0", t1, NULL, why), DOWNGRADE_OLDER);
	assert_int_equal(decide(t2, "latest", t1, "1.0", why), DOWNGRADE_OLDER);
	assert_int_equal(decide(t1, NULL, t2, NULL, why), DOWNGRADE_NEWER);
	assert_int_equal(decide("2024-01-01T01:00:00+02:00", NULL, "2023-12-31T23:30:00Z", NULL, why), DOWNGRADE_NEWER);
	assert_int_equal(decide("2024-01-01T00:00:00.5Z", NULL, "2024-01-01T00:00:00.25Z", NULL, why), DOWNGRADE_OLDER);
	assert_int_equal(decide(t1, NULL, t1, NULL, why), DOWNGRADE_SAME);
	/* Versions equal, no dates: the same. */
	assert_int_equal(decide(NULL, "2.0", NULL, "2.0.0", why), DOWNGRADE_SAME);
	/* Nothing to compare: unknown (accepted, with a warning). Placeholder
	 * dates (reproducible builds) and garbage count as nothing. */
	assert_int_equal(decide(NULL, NULL, NULL, NULL, why), DOWNGRADE_UNKNOWN);
	assert_non_null(strstr(why, "age unknown"));
	assert_int_equal(decide("1970-01-01T00:00:00Z", NULL, "1970-01-01T00:00:00Z", NULL, why), DOWNGRADE_UNKNOWN);
	assert_int_equal(decide(t2, NULL, "1970-01-01T00:00:00Z", NULL, why), DOWNGRADE_UNKNOWN);
	assert_int_equal(decide("yesterday", "x", "today", "y", why), DOWNGRADE_UNKNOWN);
	assert_int_equal(decide(t2, NULL, NULL, "9.9", why), DOWNGRADE_UNKNOWN);
	/* An active image with no facts at all. */
	assert_int_equal(downgrade_decide(NULL, &(struct image_age){ .created = t1 }, why, sizeof(why)),
			 DOWNGRADE_UNKNOWN);
	/* A hostile version is shown sanitized. */
	assert_int_equal(decide(t1, "2.0", t1, "1.0-\x1b", why), DOWNGRADE_SAME);
	assert_null(strchr(why, '\x1b'));
	assert_int_equal(decide(NULL, "2.0", NULL, "1.0", NULL), DOWNGRADE_OLDER);
	assert_string_equal(downgrade_verdict_to_string(DOWNGRADE_OLDER), "older");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_decide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
