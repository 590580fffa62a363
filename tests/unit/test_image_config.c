/* SPDX-License-Identifier: Apache-2.0 */
/* oci/image_config.c: the anti-downgrade facts taken from an image config
 * the registry chose; anything not bounded, printable and well-formed is
 * absent (NULL). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image_config.h"

/* created and version of the config text (NULL when absent) */
static void age_of(const char *text, char **created, char **version)
{
	json_t *root = json_loads(text, 0, NULL);
	assert_int_equal(image_config_age(root, created, version), 0);
	json_decref(root);
}

static void expect(const char *text, const char *created, const char *version)
{
	char *c, *v;
	age_of(text, &c, &v);
	if (created)
		assert_string_equal(c, created);
	else
		assert_null(c);
	if (version)
		assert_string_equal(v, version);
	else
		assert_null(v);
	free(c);
	free(v);
}

static void test_valid(void **state)
{
	(void) state;
	expect("{\"created\":\"2024-05-01T12:00:00.5+02:00\",\"config\":{\"Labels\":"
	       "{\"org.opencontainers.image.version\":\"v3.1.2-k3sv1.29.3+k3s1\"}}}",
	       "2024-05-01T12:00:00.5+02:00", "v3.1.2-k3sv1.29.3+k3s1");
	/* a label that is no version is still shown; the rule ignores it */
	expect("{\"config\":{\"Labels\":{\"org.opencontainers.image.version\":\"latest\"}}}", NULL, "latest");
	expect("{\"created\":\"1970-01-01T00:00:00Z\"}", "1970-01-01T00:00:00Z", NULL);
}

static void test_absent(void **state)
{
	(void) state;
	expect("{}", NULL, NULL);
	expect("[]", NULL, NULL);
	expect("{\"config\":null,\"created\":null}", NULL, NULL);
	expect("{\"config\":{\"Labels\":null}}", NULL, NULL);
	char *c, *v;
	assert_int_equal(image_config_age(NULL, &c, &v), 0); /* did not parse */
	assert_null(c);
	assert_null(v);
}

static void test_hostile(void **state)
{
	(void) state;
	/* wrong types */
	expect("{\"created\":1704067200,\"config\":{\"Labels\":[\"org.opencontainers.image.version\",\"1.0\"]}}", NULL,
	       NULL);
	expect("{\"config\":{\"Labels\":{\"org.opencontainers.image.version\":{\"v\":\"1.0\"}}}}", NULL, NULL);
	/* control bytes, DEL, non-ASCII, spaces */
	expect("{\"created\":\"2024-01-01T00:00:00Z\\u001b[31m\",\"config\":{\"Labels\":"
	       "{\"org.opencontainers.image.version\":\"1.0\\u001b[2J\"}}}",
	       NULL, NULL);
	expect("{\"config\":{\"Labels\":{\"org.opencontainers.image.version\":\"1.0\\u007f\"}}}", NULL, NULL);
	expect("{\"config\":{\"Labels\":{\"org.opencontainers.image.version\":\"1.0\\u00e9\"}}}", NULL, NULL);
	expect("{\"config\":{\"Labels\":{\"org.opencontainers.image.version\":\"1.0 rc\"}}}", NULL, NULL);
	expect("{\"config\":{\"Labels\":{\"org.opencontainers.image.version\":\"\"}}}", NULL, NULL);
	/* invalid times */
	expect("{\"created\":\"2024-02-30T00:00:00Z\"}", NULL, NULL);
	expect("{\"created\":\"yesterday\"}", NULL, NULL);
	expect("{\"created\":\"2024-01-01T00:00:00\"}", NULL, NULL); /* no offset */
}

static void test_bounds(void **state)
{
	(void) state;
	char label[IMAGE_VERSION_MAX + 2];
	memset(label, '9', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	assert_false(image_version_is_valid(label)); /* one over */
	label[IMAGE_VERSION_MAX] = '\0';
	assert_true(image_version_is_valid(label)); /* exactly the bound */
	/* a valid RFC 3339 time, too long: 9 fraction digits and more padding
	 * are refused by the bound before the parser sees them */
	assert_true(image_created_is_valid("2024-05-01T12:00:00.123456789+02:00"));
	assert_false(image_created_is_valid("2024-05-01T12:00:00.123456789012345678901234567890Z"));
	assert_false(image_created_is_valid(NULL));
	assert_false(image_version_is_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
