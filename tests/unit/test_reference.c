/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "digest.h"
#include "reference.h"
#include "util.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect_ref(const char *s, const char *registry, const char *api, const char *repo, const char *tag,
		       const char *digest)
{
	struct image_reference ref;
	assert_int_equal(reference_parse(s, &ref), 0);
	assert_string_equal(ref.registry, registry);
	assert_string_equal(ref.api_host, api);
	assert_string_equal(ref.repository, repo);
	if (tag)
		assert_string_equal(ref.tag, tag);
	else
		assert_null(ref.tag);
	if (digest)
		assert_string_equal(ref.digest, digest);
	else
		assert_null(ref.digest);
	reference_done(&ref);
}

static void test_hub_short_names(void **state)
{
	(void) state;
	expect_ref("debian", "docker.io", "registry-1.docker.io", "library/debian", "latest", NULL);
	expect_ref("debian:12", "docker.io", "registry-1.docker.io", "library/debian", "12", NULL);
	expect_ref("kairos/core:v1.2-x", "docker.io", "registry-1.docker.io", "kairos/core", "v1.2-x", NULL);
	expect_ref("docker.io/alpine", "docker.io", "registry-1.docker.io", "library/alpine", "latest", NULL);
	expect_ref("index.docker.io/a/b:c", "docker.io", "registry-1.docker.io", "a/b", "c", NULL);
}

static void test_hosts(void **state)
{
	(void) state;
	expect_ref("localhost/os", "localhost", "localhost", "os", "latest", NULL);
	expect_ref("localhost:5000/os:1", "localhost:5000", "localhost:5000", "os", "1", NULL);
	expect_ref("127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000", "127.0.0.1:5000", "a/b/c", "t", NULL);
	expect_ref("quay.io/kairos/core", "quay.io", "quay.io", "kairos/core", "latest", NULL);
}

static void test_digests(void **state)
{
	(void) state;
	expect_ref("quay.io/x@sha256:" D64, "quay.io", "quay.io", "x", NULL, "sha256:" D64);
	expect_ref("quay.io/x:t@sha256:" D64, "quay.io", "quay.io", "x", "t", "sha256:" D64);
}

static void test_invalid(void **state)
{
	(void) state;
	static const char *const bad[] = {
		"",
		"UPPER/case",
		"a//b",
		"/a",
		"a/",
		"a:",
		"a:-x",
		"a@sha256:abc",
		"a@sha256:" D64 "0",
		"a@md5:" D64,
		"host:5000/",
		"a b",
		"a/../b",
		"a:t\n",
		"x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct image_reference ref;
		if (reference_parse(bad[i], &ref) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void test_digest_validation(void **state)
{
	(void) state;
	assert_true(digest_is_valid("sha256:" D64));
	assert_false(digest_is_valid(NULL));
	assert_false(digest_is_valid("sha256:"));
	assert_false(digest_is_valid("sha256:" D64 "a"));
	assert_false(digest_is_valid("sha256:../" D64));
	assert_false(digest_is_valid("sha512:" D64));
	assert_false(digest_is_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF"));

	char out[DIGEST_STRING_MAX];
	assert_int_equal(digest_buffer("abc", 3, out), 0);
	assert_string_equal(out, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(digest_is_valid(out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hub_short_names),   cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_digests),           cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_digest_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
