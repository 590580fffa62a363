/* SPDX-License-Identifier: Apache-2.0 */
/* signedIdentity matching, against containers/image's own test tables
 * (signature/policy_reference_match_test.go): the same references, the
 * same expected answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"

#define FULL_RHEL "registry.access.redhat.com/rhel7/rhel:7.2.3"
#define UNTAGGED_RHEL "registry.access.redhat.com/rhel7/rhel"
#define DIGEST "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST_OTHER "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct pair {
	const char *a, *b;
	bool result;
};

/* prmExactMatchTestTable: symmetric. */
static const struct pair exact_table[] = {
	{ "busybox:latest", "busybox:latest", true },
	{ FULL_RHEL, FULL_RHEL, true },
	{ "busybox" DIGEST, "busybox" DIGEST, true },
	{ "library/busybox:latest", "busybox:latest", true },
	{ "docker.io/library/busybox:latest", "busybox:latest", true },
	{ "library/busybox" DIGEST, "busybox" DIGEST, true },
	{ "busybox:latest", "busybox:notlatest", false },
	{ "busybox:latest", "notbusybox:latest", false },
	{ "busybox:latest", "hostname/library/busybox:notlatest", false },
	{ "hostname/library/busybox:latest", "busybox:notlatest", false },
	{ "busybox:latest", FULL_RHEL, false },
	{ "busybox" DIGEST, "notbusybox" DIGEST, false },
	{ "busybox:latest", "busybox" DIGEST, false },
	{ "busybox" DIGEST, "busybox" DIGEST_OTHER, false },
	{ "busybox", "busybox:latest", false },
	{ "busybox", "busybox" DIGEST, false },
	{ "busybox", "busybox", false },
	{ "busybox:latest" DIGEST, "busybox:latest" DIGEST, true },
	{ "busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, false },
	{ "busybox:latest" DIGEST, "busybox:notlatest" DIGEST, false },
	{ "busybox:latest" DIGEST, "busybox" DIGEST, false },
	{ "busybox:latest" DIGEST, "busybox:latest", false },
	{ "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", false },
	{ "", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", false },
	{ "INVALID", "INVALID", false },
};

/* prmRepositoryMatchTestTable: symmetric. */
static const struct pair repository_table[] = {
	{ "busybox:latest", "busybox:latest", true },
	{ FULL_RHEL, FULL_RHEL, true },
	{ "busybox" DIGEST, "busybox" DIGEST, true },
	{ "library/busybox:latest", "busybox:latest", true },
	{ "docker.io/library/busybox:latest", "busybox:latest", true },
	{ "library/busybox" DIGEST, "busybox" DIGEST, true },
	{ "busybox:latest", "busybox:notlatest", true },
	{ FULL_RHEL "tagsuffix", FULL_RHEL, true },
	{ "library/busybox:latest", "busybox:notlatest", true },
	{ "busybox:latest", "library/busybox:notlatest", true },
	{ "docker.io/library/busybox:notlatest", "busybox:latest", true },
	{ "busybox:notlatest", "docker.io/library/busybox:latest", true },
	{ "busybox:latest", "busybox" DIGEST, true },
	{ "busybox" DIGEST, "busybox" DIGEST_OTHER, true },
	{ "busybox", "busybox:notlatest", true },
	{ FULL_RHEL, UNTAGGED_RHEL, true },
	{ "busybox", "busybox" DIGEST, true },
	{ "library/busybox", "busybox", true },
	{ "docker.io/library/busybox", "busybox", true },
	{ "busybox:latest", "notbusybox:latest", false },
	{ "hostname/library/busybox:latest", "busybox:notlatest", false },
	{ "busybox:latest", FULL_RHEL, false },
	{ "busybox" DIGEST, "notbusybox" DIGEST, false },
	{ "busybox:latest" DIGEST, "busybox:latest" DIGEST, true },
	{ "busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, true },
	{ "busybox:latest" DIGEST, "busybox:notlatest" DIGEST, true },
	{ "busybox:latest" DIGEST, "busybox" DIGEST, true },
	{ "busybox:latest" DIGEST, "busybox:latest", true },
	{ "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", false },
	{ "", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", false },
	{ "INVALID", "INVALID", false },
};

/* matchRepoDigestOrExactTestTable: image, signature; not symmetric. */
static const struct pair repo_digest_or_exact_table[] = {
	{ "busybox:latest", "busybox:notlatest", false },
	{ FULL_RHEL "tagsuffix", FULL_RHEL, false },
	{ "library/busybox:latest", "busybox:notlatest", false },
	{ "busybox:latest", "library/busybox:notlatest", false },
	{ "docker.io/library/busybox:notlatest", "busybox:latest", false },
	{ "busybox:notlatest", "docker.io/library/busybox:latest", false },
	{ "busybox", "busybox:latest", false },
	{ "busybox:latest", "busybox", false },
	{ "busybox", "busybox" DIGEST, false },
	{ "busybox" DIGEST, "busybox", false },
	{ FULL_RHEL, UNTAGGED_RHEL, false },
	{ "busybox", "busybox", false },
	{ "busybox:latest", "busybox" DIGEST, false },
	{ "busybox" DIGEST, "busybox:latest", true },
	{ "busybox" DIGEST, "busybox" DIGEST_OTHER, true },
	{ "busybox:latest" DIGEST, "busybox:latest", false },
	{ "busybox:latest" DIGEST, "busybox:notlatest", false },
	{ "busybox:latest", "busybox:latest" DIGEST, false },
	{ "busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, false },
	{ "busybox:latest" DIGEST, "busybox:notlatest" DIGEST_OTHER, false },
};

/* The image is parsed like containers/image parses it; an image that does
 * not parse is skipped (it cannot happen there either). */
static void check_image_rule(enum identity_rule_type type, const char *image_s, const char *sig, bool want)
{
	struct identity_ref image;
	if (identity_ref_parse(image_s, &image) < 0)
		return;
	struct identity_rule rule = { .type = type };
	bool got = identity_matches(&rule, &image, sig);
	if (got != want)
		fail_msg("%s: image %s vs signed %s: got %d, want %d", identity_rule_type_to_string(type), image_s, sig,
			 got, want);
}

static void check_value_rule(enum identity_rule_type type, const char *value, const char *sig, bool want)
{
	struct identity_rule rule = { .type = type, .value = value };
	bool got = identity_matches(&rule, NULL, sig);
	if (got != want)
		fail_msg("%s %s vs signed %s: got %d, want %d", identity_rule_type_to_string(type), value, sig, got,
			 want);
}

static void test_match_exact(void **unused)
{
	(void) unused;
	for (size_t i = 0; i < sizeof(exact_table) / sizeof(exact_table[0]); i++) {
		const struct pair *t = &exact_table[i];
		check_image_rule(IDENTITY_MATCH_EXACT, t->a, t->b, t->result);
		check_image_rule(IDENTITY_MATCH_EXACT, t->b, t->a, t->result);
		check_value_rule(IDENTITY_EXACT_REFERENCE, t->a, t->b, t->result);
		check_value_rule(IDENTITY_EXACT_REFERENCE, t->b, t->a, t->result);
	}
	/* An image without a registry identity never matches, even "". */
	struct identity_rule rule = { .type = IDENTITY_MATCH_EXACT };
	assert_false(identity_matches(&rule, NULL, ""));
	assert_false(identity_matches(&rule, NULL, "busybox:latest"));
}

static void test_match_repository(void **unused)
{
	(void) unused;
	for (size_t i = 0; i < sizeof(repository_table) / sizeof(repository_table[0]); i++) {
		const struct pair *t = &repository_table[i];
		check_image_rule(IDENTITY_MATCH_REPOSITORY, t->a, t->b, t->result);
		check_image_rule(IDENTITY_MATCH_REPOSITORY, t->b, t->a, t->result);
		check_value_rule(IDENTITY_EXACT_REPOSITORY, t->a, t->b, t->result);
		check_value_rule(IDENTITY_EXACT_REPOSITORY, t->b, t->a, t->result);
	}
	struct identity_rule rule = { .type = IDENTITY_MATCH_REPOSITORY };
	assert_false(identity_matches(&rule, NULL, ""));
}

/* The default rule: everything matchExact accepts, nothing matchRepository
 * refuses, and the asymmetric cases. The same holds for remapIdentity
 * when the prefix does not apply, and when it rewrites the image's domain
 * back to the signed one (prmRemapIdentityMRDOETestCase). */
static void check_repo_digest_or_exact(const char *image_s, const char *sig, bool want)
{
	check_image_rule(IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, image_s, sig, want);

	struct identity_ref image;
	if (identity_ref_parse(image_s, &image) < 0)
		return;
	struct identity_rule none = { .type = IDENTITY_REMAP,
				      .prefix = "never-causes-a-rewrite.example",
				      .signed_prefix = "never-causes-a-rewrite.example" };
	assert_int_equal(identity_matches(&none, &image, sig), want);

	/* The image seen on a mirror whose domain has its first letter shifted. */
	char mirror_domain[IDENTITY_NAME_MAX + 1];
	snprintf(mirror_domain, sizeof(mirror_domain), "%s", image.domain);
	mirror_domain[0] = mirror_domain[0] == 'z' ? 'a' : (char) (mirror_domain[0] + 1);
	struct identity_ref mirrored = image;
	snprintf(mirrored.domain, sizeof(mirrored.domain), "%s", mirror_domain);
	struct identity_rule back = { .type = IDENTITY_REMAP, .prefix = mirror_domain, .signed_prefix = image.domain };
	if (identity_matches(&back, &mirrored, sig) != want)
		fail_msg("remap %s -> %s: image %s vs signed %s: want %d", mirror_domain, image.domain, image_s, sig,
			 want);
}

static void test_match_repo_digest_or_exact(void **unused)
{
	(void) unused;
	for (size_t i = 0; i < sizeof(exact_table) / sizeof(exact_table[0]); i++)
		if (exact_table[i].result) {
			check_repo_digest_or_exact(exact_table[i].a, exact_table[i].b, true);
			check_repo_digest_or_exact(exact_table[i].b, exact_table[i].a, true);
		}
	for (size_t i = 0; i < sizeof(repository_table) / sizeof(repository_table[0]); i++)
		if (!repository_table[i].result) {
			check_repo_digest_or_exact(repository_table[i].a, repository_table[i].b, false);
			check_repo_digest_or_exact(repository_table[i].b, repository_table[i].a, false);
		}
	for (size_t i = 0; i < sizeof(repo_digest_or_exact_table) / sizeof(repo_digest_or_exact_table[0]); i++)
		check_repo_digest_or_exact(repo_digest_or_exact_table[i].a, repo_digest_or_exact_table[i].b,
					   repo_digest_or_exact_table[i].result);
}

/* TestPRMRemapIdentityRefMatchesPrefix: whether prefix applies to ref.
 * Observed through the match: with the prefix rewritten to a marker, the
 * image matches the marker's name only if the prefix applied. */
static void test_remap_prefix(void **unused)
{
	(void) unused;
	static const struct pair table[] = {
		{ "docker.io/image", "docker.io", true },
		{ "docker.io/image", "example.com", false },
		{ "example.com:5000/image", "example.com:5000", true },
		{ "example.com:50000/image", "example.com:5000", false },
		{ "example.com:5000/image", "example.com", false },
		{ "example.com/foo", "example.com", true },
		{ "example.com/foo/bar", "example.com", true },
		{ "example.com/foo/bar:baz", "example.com", true },
		{ "example.com/foo/bar" DIGEST, "example.com", true },
		{ "docker.io/ns/image", "docker.io/library", false },
		{ "example.com/library", "docker.io/library", false },
		{ "docker.io/libraryy/image", "docker.io/library", false },
		{ "docker.io/library/busybox", "docker.io/library", true },
		{ "example.com/ns/image", "example.com/ns", true },
		{ "example.com/ns2/image", "example.com/ns", false },
		{ "example.com/n2/image", "example.com/ns", false },
		{ "example.com", "example.com/library/busybox", false },
		{ "example.com:5000/ns/image", "example.com/ns", false },
		{ "example.com/ns/image", "example.com:5000/ns", false },
		{ "docker.io/library/busybox", "docker.io/library/busybox", true },
		{ "example.com/library/busybox", "docker.io/library/busybox", false },
		{ "docker.io/library/busybox2", "docker.io/library/busybox", false },
		{ "example.com/ns/image", "example.com/ns/image", true },
		{ "example.com/ns/imag2", "example.com/ns/image", false },
		{ "example.com/ns/imagee", "example.com/ns/image", false },
		{ "example.com:5000/ns/image", "example.com/ns/image", false },
		{ "example.com/ns/image", "example.com:5000/ns/image", false },
		{ "example.com/ns/image:tag", "example.com/ns/image", true },
		{ "example.com/ns/image" DIGEST, "example.com/ns/image", true },
		{ "example.com/ns/image:tag" DIGEST, "example.com/ns/image", true },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct identity_ref image;
		assert_int_equal(identity_ref_parse(table[i].a, &image), 0);
		if (identity_ref_is_name_only(&image))
			snprintf(image.tag, sizeof(image.tag), "t");
		assert_true(identity_prefix_is_valid(table[i].b));
		struct identity_rule rule = { .type = IDENTITY_REMAP,
					      .prefix = table[i].b,
					      .signed_prefix = "marker.example/signed" };
		char name[IDENTITY_REF_STRING_MAX], sig[IDENTITY_REF_STRING_MAX + 64];
		identity_ref_format(&image, name, sizeof(name));
		size_t skip = strlen(table[i].b) < strlen(name) ? strlen(table[i].b) : strlen(name);
		snprintf(sig, sizeof(sig), "marker.example/signed%s", name + skip);
		if (identity_matches(&rule, &image, sig) != table[i].result)
			fail_msg("%s vs prefix %s: want %d", table[i].a, table[i].b, table[i].result);
	}
}

/* TestPRMRemapIdentityRemapReferencePrefix: prefix, signedPrefix, the image,
 * and the reference it is rewritten to ("" when the rewrite is not a
 * reference in its expanded form, which then matches nothing). */
static void test_remap_rewrite(void **unused)
{
	(void) unused;
	static const struct {
		const char *prefix, *signed_prefix, *image, *expected;
	} table[] = {
		{ "mirror.example", "vendor.example", "mirror.example/ns/image:tag", "vendor.example/ns/image:tag" },
		{ "mirror.example", "vendor.example", "different.com/ns/image:tag", "different.com/ns/image:tag" },
		{ "mirror.example/ns", "vendor.example/vendor-ns", "mirror.example/different-ns/image:tag",
		  "mirror.example/different-ns/image:tag" },
		{ "docker.io", "not-docker-signed.example/ns", "busybox:t",
		  "not-docker-signed.example/ns/library/busybox:t" },
		{ "example.com/mirror", "example.com/vendor", "example.com/mirror/image:tag",
		  "example.com/vendor/image:tag" },
		{ "example.com/ns/mirror", "example.com/ns/vendor", "example.com/ns/mirror:tag",
		  "example.com/ns/vendor:tag" },
		{ "mirror.example", "vendor.example", "prefixmirror.example/ns/image:tag",
		  "prefixmirror.example/ns/image:tag" },
		{ "docker.io", "not-docker-signed.example", "busybox:t",
		  "not-docker-signed.example/library/busybox:t" },
		{ "docker.io/library", "not-docker-signed.example/ns", "busybox:t",
		  "not-docker-signed.example/ns/busybox:t" },
		{ "docker.io/library/busybox", "not-docker-signed.example/ns/notbusybox", "busybox:t",
		  "not-docker-signed.example/ns/notbusybox:t" },
		{ "mirror.example", "vendor.example", "mirror.example/image:tag", "vendor.example/image:tag" },
		{ "mirror.example", "vendor.example", "mirror.example/image" DIGEST, "vendor.example/image" DIGEST },
		{ "mirror.example", "vendor.example", "mirror.example/image:tag" DIGEST,
		  "vendor.example/image:tag" DIGEST },
		{ "mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image:tag", "" },
		{ "mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image" DIGEST, "" },
		{ "mirror.example/ns/image", "notlocalhost", "mirror.example/ns/image:tag", "" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct identity_ref image;
		assert_int_equal(identity_ref_parse(table[i].image, &image), 0);
		struct identity_rule rule = { .type = IDENTITY_REMAP,
					      .prefix = table[i].prefix,
					      .signed_prefix = table[i].signed_prefix };
		bool want = table[i].expected[0] != '\0';
		/* What the image would be signed as without remapping never matches
		 * once the prefix applies (unless it is rewritten to itself). */
		if (identity_matches(&rule, &image, want ? table[i].expected : table[i].image) != want)
			fail_msg("%s with %s -> %s: want %s", table[i].image, table[i].prefix, table[i].signed_prefix,
				 want ? table[i].expected : "no match");
	}
}

/* TestPRMRemapIdentityMatchesDockerReference's own cases. */
static void test_remap_matches(void **unused)
{
	(void) unused;
	static const struct {
		const char *prefix, *signed_prefix, *image, *sig;
		bool result;
	} table[] = {
		{ "does-not-match.com", "does-not-match.rewritten", "busybox:latest", "busybox:latest", true },
		{ "does-not-match.com", "does-not-match.rewritten", "busybox:latest", "notbusybox:latest", false },
		{ "mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:1", true },
		{ "mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:not1", false },
		{ "mirror.example", "docker.io/library", "mirror.example/busybox:latest", "busybox:latest", true },
		{ "mirror.example", "docker.io/library", "mirror.example/alpine:latest", "busybox:latest", false },
		{ "docker.io/library", "original.com", "copied:latest", "original.com/copied:latest", true },
		{ "docker.io/library", "original.com", "copied:latest", "original.com/ns/copied:latest", false },
		{ "busybox", "example.com/busybox", "busybox:latest", "example.com/busybox:latest", false },
		{ "docker.io/library/busybox", "busybox", "docker.io/library/busybox:latest", "busybox:latest", false },
		{ "UPPERCASE", "example.com", "example.com/foo:latest", "example.com/foo:latest", true },
		{ "example.com", "UPPERCASE", "example.com/foo:latest", "UPPERCASE/foo:latest", false },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct identity_ref image;
		assert_int_equal(identity_ref_parse(table[i].image, &image), 0);
		struct identity_rule rule = { .type = IDENTITY_REMAP,
					      .prefix = table[i].prefix,
					      .signed_prefix = table[i].signed_prefix };
		if (identity_matches(&rule, &image, table[i].sig) != table[i].result)
			fail_msg("case %zu: %s vs %s", i, table[i].image, table[i].sig);
	}
	struct identity_rule rule = { .type = IDENTITY_REMAP, .prefix = "docker.io", .signed_prefix = "docker.io" };
	assert_false(identity_matches(&rule, NULL, ""));
}

/* Normalization as ParseNormalizedNamed does it, and references it refuses. */
static void test_parse(void **unused)
{
	(void) unused;
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "busybox", "docker.io/library/busybox" },
		{ "busybox:1.36", "docker.io/library/busybox:1.36" },
		{ "index.docker.io/busybox", "docker.io/library/busybox" },
		{ "docker.io/foo/bar", "docker.io/foo/bar" },
		{ "localhost/foo", "localhost/foo" },
		{ "localhost:5000/a/b:c", "localhost:5000/a/b:c" },
		{ "quay.io/a/b" DIGEST, "quay.io/a/b" DIGEST },
		{ "Registry.Example/x", "Registry.Example/x" },
		{ "[::1]:5000/x:y", "[::1]:5000/x:y" },
		{ "a/b__c-d--e.f_g", "docker.io/a/b__c-d--e.f_g" },
		{ "foo:5000", "docker.io/library/foo:5000" },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct identity_ref r;
		char buf[IDENTITY_REF_STRING_MAX];
		assert_int_equal(identity_ref_parse(good[i].in, &r), 0);
		identity_ref_format(&r, buf, sizeof(buf));
		assert_string_equal(buf, good[i].out);
	}
	static const char *const bad[] = {
		"",
		"UPPER/case",
		"a//b",
		"/a",
		"a/",
		"a:",
		"a:-x",
		"a" DIGEST "0",
		"a@md5:0123",
		"a@sha256:ABCDEF",
		"host:5000/",
		"a b",
		"a/../b",
		"a\n",
		"a___b",
		"a._b",
		"-a",
		"a-",
		"x:y:z",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"host:port/a",
		"a@",
		"a:b@",
		"ex-.com/a",
		"[zz]/a",
		"a/b:"
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"01234567890123456789012345678901234567890123456789012345678901234567890",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct identity_ref r;
		if (identity_ref_parse(bad[i], &r) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	struct identity_ref r;
	assert_int_equal(identity_ref_parse(NULL, &r), -EINVAL);
	/* A name over 255 characters. */
	char long_name[300];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(identity_ref_parse(long_name, &r), -EINVAL);

	/* The expanded form only. */
	assert_int_equal(identity_ref_parse_canonical("docker.io/library/busybox:1", &r), 0);
	assert_int_equal(identity_ref_parse_canonical("busybox:1", &r), -EINVAL);
	assert_int_equal(identity_ref_parse_canonical("docker.io/busybox", &r), -EINVAL);
	assert_int_equal(identity_ref_parse_canonical("index.docker.io/library/busybox", &r), -EINVAL);
}

/* The parts oci/reference.h gives. */
static void test_from_parts(void **unused)
{
	(void) unused;
	struct identity_ref r;
	char buf[IDENTITY_REF_STRING_MAX];
	assert_int_equal(identity_ref_from_parts("docker.io", "library/debian", "12", NULL, &r), 0);
	identity_ref_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "docker.io/library/debian:12");
	assert_int_equal(identity_ref_from_parts("localhost:5000", "kairos/os", NULL, DIGEST + 1, &r), 0);
	identity_ref_format(&r, buf, sizeof(buf));
	assert_string_equal(buf, "localhost:5000/kairos/os" DIGEST);
	assert_int_equal(identity_ref_from_parts("docker.io", "debian", "12", NULL, &r), 0);
	assert_string_equal(r.path, "library/debian");
	assert_int_equal(identity_ref_from_parts("quay.io", "a:b", NULL, NULL, &r), -EINVAL);
	assert_int_equal(identity_ref_from_parts("quay.io", "a", "x@y", NULL, &r), -EINVAL);
	assert_int_equal(identity_ref_from_parts("quay io", "a", "1", NULL, &r), -EINVAL);
	assert_int_equal(identity_ref_from_parts("quay.io", "A", "1", NULL, &r), -EINVAL);
	assert_int_equal(identity_ref_from_parts(NULL, "a", "1", NULL, &r), -EINVAL);
	assert_int_equal(identity_ref_from_parts("quay.io", "a", NULL, "sha256:12", &r), -EINVAL);
}

static void test_scopes_and_prefixes(void **unused)
{
	(void) unused;
	static const char *const scopes[] = { "docker.io",
					      "docker.io/library",
					      "docker.io/library/busybox",
					      "docker.io/library/busybox:latest",
					      "hostname:5000/myns/x",
					      "*.temporary-project.example.com",
					      "localhost",
					      "quay.io/a/b" DIGEST,
					      "private-mirror:5000/vendor-mirror",
					      "*.com" };
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (!identity_scope_is_valid(scopes[i]))
			fail_msg("refused scope %s", scopes[i]);
	static const char *const bad_scopes[] = { "busybox",
						  "library/busybox",
						  "quay.io/",
						  "https://quay.io",
						  "Quay.io/Org",
						  "*.example.com:5000",
						  "*example.com",
						  "ex*.example.com",
						  "index.docker.io/library/busybox",
						  "quay.io/a b",
						  "",
						  "*." };
	for (size_t i = 0; i < sizeof(bad_scopes) / sizeof(bad_scopes[0]); i++)
		if (identity_scope_is_valid(bad_scopes[i]))
			fail_msg("accepted scope %s", bad_scopes[i]);

	assert_true(identity_prefix_is_valid("private-mirror:5000/vendor-mirror"));
	assert_true(identity_prefix_is_valid("vendor.example.com"));
	assert_false(identity_prefix_is_valid("vendor.example.com/x:tag"));
	assert_false(identity_prefix_is_valid("vendor.example.com/"));
	assert_false(identity_prefix_is_valid(""));
	assert_false(identity_prefix_is_valid(NULL));

	assert_int_equal(identity_rule_type_from_string("matchRepository"), IDENTITY_MATCH_REPOSITORY);
	assert_int_equal(identity_rule_type_from_string("matchrepository"), -EINVAL);
	assert_string_equal(identity_rule_type_to_string(IDENTITY_REMAP), "remapIdentity");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_exact),
		cmocka_unit_test(test_match_repository),
		cmocka_unit_test(test_match_repo_digest_or_exact),
		cmocka_unit_test(test_remap_prefix),
		cmocka_unit_test(test_remap_rewrite),
		cmocka_unit_test(test_remap_matches),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_from_parts),
		cmocka_unit_test(test_scopes_and_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
