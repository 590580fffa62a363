/* SPDX-License-Identifier: Apache-2.0 */
/* userspace/trust/simple_signing.c against payloads in cosign's exact bytes
 * signed by Python's cryptography (tests/trust/gen_vectors.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simple_signing.h"
#include "trust_vectors.h"

/* The expected digests, NULL-terminated. */
#define DIGESTS(...) ((const char *const[]){ __VA_ARGS__, NULL })

struct fixture {
	char *payload, *sig, *digest, *other_digest, *reference;
	size_t size;
	struct trust_key *key;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->payload = vector_read("payload", &f->size);
	f->sig = vector_read("p256.sig", NULL);
	f->digest = vector_read("digest", NULL);
	f->other_digest = vector_read("other-digest", NULL);
	f->reference = vector_read("reference", NULL);
	size_t n = 0;
	_cleanup_free_ char *pem = vector_read("p256.pub", &n);
	assert_int_equal(trust_key_from_pem(pem, n, &f->key), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->payload);
	free(f->sig);
	free(f->digest);
	free(f->other_digest);
	free(f->reference);
	trust_key_free(f->key);
	free(f);
	return 0;
}

static void test_valid(void **state)
{
	struct fixture *f = *state;
	/* Every key type signs the same payload. */
	static const char *const kinds[] = { "p256", "p384", "rsa2048", "rsa3072", "ed25519" };
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
		char name[64];
		size_t n = 0;
		snprintf(name, sizeof(name), "%s.pub", kinds[i]);
		_cleanup_free_ char *pem = vector_read(name, &n);
		_cleanup_(trust_key_freep) struct trust_key *key = NULL;
		assert_int_equal(trust_key_from_pem(pem, n, &key), 0);
		snprintf(name, sizeof(name), "%s.sig", kinds[i]);
		_cleanup_free_ char *sig = vector_read(name, NULL);
		_cleanup_(simple_signing_done) struct simple_signing signed_for = {};
		assert_int_equal(simple_signing_verify(f->payload, f->size, sig, key, DIGESTS(f->digest), &signed_for),
				 0);
		assert_string_equal(signed_for.docker_reference, f->reference);
		assert_string_equal(signed_for.digest, f->digest);
	}
	struct simple_signing parsed = {};
	assert_int_equal(simple_signing_parse(f->payload, f->size, &parsed, NULL), 0);
	assert_string_equal(parsed.digest, f->digest);
	assert_string_equal(parsed.docker_reference, f->reference);
	simple_signing_done(&parsed);
}

static void test_wrong_key(void **state)
{
	struct fixture *f = *state;
	size_t n = 0;
	_cleanup_free_ char *pem = vector_read("p256b.pub", &n);
	_cleanup_(trust_key_freep) struct trust_key *other = NULL;
	assert_int_equal(trust_key_from_pem(pem, n, &other), 0);
	struct simple_signing reference = {};
	assert_int_equal(simple_signing_verify(f->payload, f->size, f->sig, other, DIGESTS(f->digest), &reference),
			 -EKEYREJECTED);
	assert_null(reference.docker_reference);
}

static void test_altered_payload(void **state)
{
	struct fixture *f = *state;
	/* One byte, anywhere: in the digest, the reference, the type, a brace;
	 * and one byte more or less. */
	for (size_t at = 0; at < f->size; at++) {
		f->payload[at] ^= 0x01;
		assert_int_equal(simple_signing_verify(f->payload, f->size, f->sig, f->key, DIGESTS(f->digest), NULL),
				 -EKEYREJECTED);
		f->payload[at] ^= 0x01;
	}
	assert_int_equal(simple_signing_verify(f->payload, f->size - 1, f->sig, f->key, DIGESTS(f->digest), NULL),
			 -EKEYREJECTED);
	_cleanup_free_ char *longer = NULL;
	assert_true(asprintf(&longer, "%s ", f->payload) > 0);
	assert_int_equal(simple_signing_verify(longer, f->size + 1, f->sig, f->key, DIGESTS(f->digest), NULL),
			 -EKEYREJECTED);
}

static void test_other_digest(void **state)
{
	struct fixture *f = *state;
	size_t n = 0;
	_cleanup_free_ char *payload = vector_read("other-digest.payload", &n);
	_cleanup_free_ char *sig = vector_read("other-digest.sig", NULL);
	/* A valid signature, for the image we are not installing. */
	struct simple_signing reference = {};
	assert_int_equal(simple_signing_verify(payload, n, sig, f->key, DIGESTS(f->digest), &reference), -EXDEV);
	assert_null(reference.docker_reference);
	assert_int_equal(simple_signing_verify(payload, n, sig, f->key, DIGESTS(f->other_digest), NULL), 0);
	assert_int_equal(simple_signing_verify(f->payload, f->size, f->sig, f->key, NULL, NULL), -EXDEV);
	assert_int_equal(simple_signing_verify(payload, n, sig, f->key, DIGESTS(f->digest, f->other_digest), NULL), 0);
}

/* Payloads validly signed by the key that must still be refused. */
static void test_refused_payloads(void **state)
{
	struct fixture *f = *state;
	static const char *const cases[] = { "unknown-critical", "unknown-identity",   "unknown-top",     "wrong-type",
					     "duplicate-digest", "duplicate-optional", "uppercase-digest" };
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char name[64];
		size_t n = 0;
		snprintf(name, sizeof(name), "%s.payload", cases[i]);
		_cleanup_free_ char *payload = vector_read(name, &n);
		snprintf(name, sizeof(name), "%s.sig", cases[i]);
		_cleanup_free_ char *sig = vector_read(name, NULL);
		struct simple_signing reference = {};
		print_message("# %s\n", cases[i]);
		assert_int_equal(simple_signing_verify(payload, n, sig, f->key, DIGESTS(f->digest), &reference),
				 -EBADMSG);
		assert_null(reference.docker_reference);
		/* The other digest of duplicate-digest must not win either. */
		assert_int_equal(simple_signing_verify(payload, n, sig, f->key, DIGESTS(f->other_digest), NULL),
				 -EBADMSG);
	}
}

static void expect_parse_refused(const char *json)
{
	struct simple_signing parsed = {};
	const char *reason = NULL;
	print_message("# %s\n", json);
	assert_int_equal(simple_signing_parse(json, strlen(json), &parsed, &reason), -EBADMSG);
	assert_non_null(reason);
	assert_null(parsed.docker_reference);
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IDENT "\"identity\":{\"docker-reference\":\"r.example/os\"}"
#define IMAGE "\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\"}"
#define TYPE "\"type\":\"cosign container image signature\""

static void test_parse(void **state)
{
	(void) state;
	static const char *const good[] = {
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"optional\":null}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "}}",
		"{\"optional\":{\"x\":[1,{\"y\":null}]},\"critical\":{" TYPE "," IMAGE "," IDENT "}}",
		" {\"critical\":{" IDENT "," IMAGE "," TYPE "}}\n",
	};
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		struct simple_signing parsed = {};
		assert_int_equal(simple_signing_parse(good[i], strlen(good[i]), &parsed, NULL), 0);
		assert_string_equal(parsed.docker_reference, "r.example/os");
		assert_string_equal(parsed.digest, "sha256:" D64);
		simple_signing_done(&parsed);
	}
	static const char *const bad[] = {
		"",
		"null",
		"[]",
		"\"x\"",
		"{}",
		"{\"critical\":null}",
		"{\"critical\":[]}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"optional\":[]}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"optional\":\"x\"}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "}} {}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "}",
		"{\"critical\":{" IDENT "," IMAGE "}}",
		"{\"critical\":{" IDENT "," TYPE "}}",
		"{\"critical\":{" IMAGE "," TYPE "}}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE ",\"type2\":1}}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "," TYPE "}}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"critical\":{" IDENT "," IMAGE "," TYPE "}}",
		"{\"critical\":{" IDENT "," IMAGE ",\"type\":\"cosign container image signature \"}}",
		"{\"critical\":{" IDENT "," IMAGE ",\"type\":\"atomic container signature\"}}",
		"{\"critical\":{" IDENT "," IMAGE ",\"type\":null}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"\"}," IMAGE "," TYPE "}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a b\"}," IMAGE "," TYPE "}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\\u001b[31m\"}," IMAGE "," TYPE "}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\\u0000b\"}," IMAGE "," TYPE "}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":7}," IMAGE "," TYPE "}}",
		"{\"critical\":{\"identity\":{}," IMAGE "," TYPE "}}",
		"{\"critical\":{\"identity\":{\"docker-reference\":\"a\",\"x\":\"b\"}," IMAGE "," TYPE "}}",
		"{\"critical\":{" IDENT ",\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "0\"}," TYPE "}}",
		"{\"critical\":{" IDENT ",\"image\":{\"docker-manifest-digest\":\"sha512:" D64 "\"}," TYPE "}}",
		"{\"critical\":{" IDENT ",\"image\":{\"docker-manifest-digest\":\"sha256:../" D64 "\"}," TYPE "}}",
		"{\"critical\":{" IDENT ",\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\",\"x\":1}," TYPE "}}",
		"{\"critical\":{" IDENT ",\"image\":{}," TYPE "}}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"extra\":1}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"optional\":{\"a\":1,\"a\":2}}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"optional\":{\"deep\":{\"a\":1,\"a\":2}}}",
		"{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"optional\":{\"bad\":\"\xff\"}}",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		expect_parse_refused(bad[i]);
	/* Three \0-separated documents: the size decides, not a NUL. */
	const char *s = "{\"critical\":{" IDENT "," IMAGE "," TYPE "}}";
	char buf[512];
	size_t n = strlen(s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	memcpy(buf + n + 1, "{}", 2);
	struct simple_signing parsed = {};
	assert_int_equal(simple_signing_parse(buf, n + 3, &parsed, NULL), -EBADMSG);
}

#define PAYLOAD_OPT(opt) "{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"optional\":" opt "}"
#define RH "\"dev.kairos.verity.root_hash\""
#define RB "\"dev.kairos.verity.build\""
/* 230 chars */
#define B230                                                                                                   \
	"zstd:6 128K prescan format=1 libsquashfs.so.1.4.0 libzstd-1.5.4 libarchive-3.6.2 "                    \
	"0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" \
	"0123456789012345678901234567890123456789012345678"

/* The signed root hash in optional (issue 17): both keys or neither,
 * bounded and printable, else the payload is refused. */
static void test_verity_claim(void **state)
{
	(void) state;
	struct simple_signing parsed = {};
	const char *with = PAYLOAD_OPT("{\"tag\":\"v1\"," RH ":\"" D64 "\"," RB ":\"zstd:6 128K prescan\"}");
	assert_int_equal(simple_signing_parse(with, strlen(with), &parsed, NULL), 0);
	assert_string_equal(parsed.verity_root_hash, D64);
	assert_string_equal(parsed.verity_build, "zstd:6 128K prescan");
	simple_signing_done(&parsed);
	assert_string_equal(parsed.verity_root_hash, "");

	/* None: empty strings, whatever else optional holds. */
	static const char *const none[] = { PAYLOAD_OPT("null"), PAYLOAD_OPT("{}"),
					    PAYLOAD_OPT("{\"dev.kairos.verity.x\":\"1\"}") };
	for (size_t i = 0; i < ELEMENTSOF(none); i++) {
		assert_int_equal(simple_signing_parse(none[i], strlen(none[i]), &parsed, NULL), 0);
		assert_string_equal(parsed.verity_root_hash, "");
		assert_string_equal(parsed.verity_build, "");
		simple_signing_done(&parsed);
	}
	/* 256 chars of settings: the bound, accepted. */
	const char *longest = PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":\"" B230 "abcdefghijklmnopqrstuvwxyz\"}");
	assert_int_equal(simple_signing_parse(longest, strlen(longest), &parsed, NULL), 0);
	assert_int_equal(strlen(parsed.verity_build), SIMPLE_SIGNING_VERITY_BUILD_MAX);
	simple_signing_done(&parsed);

	static const char *const bad[] = {
		PAYLOAD_OPT("{" RH ":\"" D64 "\"}"),
		PAYLOAD_OPT("{" RB ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "0\"," RB ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"," RB
			    ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":\"123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"," RB
			    ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":\"sha256:" D64 "\"," RB ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\\u0000\"," RB ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":null," RB ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":7," RB ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":[\"" D64 "\"]," RB ":\"zstd:6\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":\"\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":\"zstd:6\\t128K\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":\"zstd:6\\u001b[31m\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":\"zstd\\u0000:6\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":\"zstd:6 \u00e9\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":\"zstd:6\x7f\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":{}}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RB ":\"" B230 "abcdefghijklmnopqrstuvwxyz!\"}"),
		PAYLOAD_OPT("{" RH ":\"" D64 "\"," RH ":\"" D64 "\"," RB ":\"zstd:6\"}"),
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		const char *reason = NULL;
		assert_int_equal(simple_signing_parse(bad[i], strlen(bad[i]), &parsed, &reason), -EBADMSG);
		assert_non_null(reason);
		assert_null(parsed.docker_reference);
	}
	/* What sign checks its options with. */
	assert_true(simple_signing_root_hash_is_valid(D64));
	assert_false(simple_signing_root_hash_is_valid(NULL));
	assert_false(simple_signing_root_hash_is_valid(""));
	assert_true(simple_signing_verity_build_is_valid("x"));
	assert_false(simple_signing_verity_build_is_valid(NULL));
	assert_false(simple_signing_verity_build_is_valid("a\nb"));
}

/* What sign --verity writes parses back to the same claim. */
static void test_verity_round_trip(void **state)
{
	struct fixture *f = *state;
	static const struct simple_signing_annotation a[] = {
		{ SIMPLE_SIGNING_VERITY_ROOT_HASH_KEY, D64 },
		{ SIMPLE_SIGNING_VERITY_BUILD_KEY, "gzip:9 4K no-prescan format=1 <&>" },
		{ "tag", "v1" },
	};
	_cleanup_free_ char *out = NULL;
	size_t size = 0;
	assert_int_equal(simple_signing_write(f->reference, f->digest, a, ELEMENTSOF(a), &out, &size), 0);
	_cleanup_(simple_signing_done) struct simple_signing parsed = {};
	assert_int_equal(simple_signing_parse(out, size, &parsed, NULL), 0);
	assert_string_equal(parsed.verity_root_hash, D64);
	assert_string_equal(parsed.verity_build, "gzip:9 4K no-prescan format=1 <&>");
}

static void test_bad_base64(void **state)
{
	struct fixture *f = *state;
	/* The valid signature with a line break, a blank, no padding, the URL
	 * alphabet; then nonsense and too long. */
	size_t n = strlen(f->sig);
	char *variants[6] = {};
	assert_true(asprintf(&variants[0], "%.*s\n%s", (int) (n / 2), f->sig, f->sig + n / 2) > 0);
	assert_true(asprintf(&variants[1], " %s", f->sig) > 0);
	assert_true(asprintf(&variants[2], "%s\n", f->sig) > 0);
	variants[3] = strdup(f->sig);
	for (char *p = variants[3]; *p; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		else if (*p == '=')
			*p = '\0';
	variants[4] = strdup("not base64!");
	variants[5] = malloc(SIMPLE_SIGNING_SIGNATURE_B64_MAX + 5);
	memset(variants[5], 'A', SIMPLE_SIGNING_SIGNATURE_B64_MAX + 4);
	variants[5][SIMPLE_SIGNING_SIGNATURE_B64_MAX + 4] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
		/* variants[3] stays valid only if the signature had none of +/=. */
		if (i == 3 && streq(variants[3], f->sig))
			continue;
		assert_int_equal(
			simple_signing_verify(f->payload, f->size, variants[i], f->key, DIGESTS(f->digest), NULL),
			-EKEYREJECTED);
		free(variants[i]);
	}
	assert_int_equal(simple_signing_verify(f->payload, f->size, "", f->key, DIGESTS(f->digest), NULL),
			 -EKEYREJECTED);
	/* A signature layer without the annotation. */
	assert_int_equal(simple_signing_verify(f->payload, f->size, NULL, f->key, DIGESTS(f->digest), NULL),
			 -EKEYREJECTED);
}

static void test_not_der(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *raw = vector_read("p256-raw.sig", NULL);
	assert_int_equal(simple_signing_verify(f->payload, f->size, raw, f->key, DIGESTS(f->digest), NULL),
			 -EKEYREJECTED);
}

static void test_oversized(void **state)
{
	struct fixture *f = *state;
	/* A payload over 64 KiB: refused before the signature is checked or
	 * the JSON parsed (a valid JSON document with a long annotation). */
	size_t size = SIMPLE_SIGNING_PAYLOAD_MAX + 1;
	_cleanup_free_ char *big = malloc(size + 1);
	int n = snprintf(big, size + 1, "{\"critical\":{" IDENT "," IMAGE "," TYPE "},\"optional\":{\"x\":\"");
	memset(big + n, 'a', size - (size_t) n - 3);
	memcpy(big + size - 3, "\"}}", 3);
	big[size] = '\0';
	assert_int_equal(simple_signing_verify(big, size, f->sig, f->key, DIGESTS(f->digest), NULL), -E2BIG);
	struct simple_signing parsed = {};
	assert_int_equal(simple_signing_parse(big, size, &parsed, NULL), -E2BIG);
	/* One byte less parses. */
	memcpy(big + size - 4, "\"}}", 3);
	assert_int_equal(simple_signing_parse(big, size - 1, &parsed, NULL), 0);
	simple_signing_done(&parsed);
}

static void test_write_matches_cosign(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *out = NULL;
	size_t size = 0;
	assert_int_equal(simple_signing_write(f->reference, f->digest, NULL, 0, &out, &size), 0);
	assert_int_equal(size, f->size);
	assert_memory_equal(out, f->payload, size);

	/* Annotations: sorted by key, Go's escapes for <, &, >, U+2028. */
	size_t n = 0;
	_cleanup_free_ char *want = vector_read("annotations.payload", &n);
	static const struct simple_signing_annotation a[] = { { "tag", "v1<&>" },
							      { "build", "42" },
							      { "a\xe2\x80\xa8"
								"b",
								"\xc3\xa9" } };
	_cleanup_free_ char *with = NULL;
	assert_int_equal(simple_signing_write(f->reference, f->digest, a, ELEMENTSOF(a), &with, &size), 0);
	assert_int_equal(size, n);
	assert_memory_equal(with, want, n);
	/* The same signature (made by Python over its bytes) verifies ours. */
	_cleanup_free_ char *sig = vector_read("annotations.sig", NULL);
	assert_int_equal(simple_signing_verify(with, size, sig, f->key, DIGESTS(f->digest), NULL), 0);

	char *x = NULL;
	static const struct simple_signing_annotation twice[] = { { "a", "1" }, { "a", "2" } };
	assert_int_equal(simple_signing_write(f->reference, f->digest, twice, 2, &x, &size), -EINVAL);
	static const struct simple_signing_annotation not_utf8[] = { { "a", "\xff" } };
	assert_int_equal(simple_signing_write(f->reference, f->digest, not_utf8, 1, &x, &size), -EINVAL);
	assert_int_equal(simple_signing_write(f->reference, "sha256:abc", NULL, 0, &x, &size), -EINVAL);
	assert_int_equal(simple_signing_write("a b", f->digest, NULL, 0, &x, &size), -EINVAL);
	assert_null(x);
}

static void test_sign_and_verify(void **state)
{
	struct fixture *f = *state;
	static const char *const privs[] = { "p256.key", "p384.key", "rsa2048.key", "ed25519.key" };
	static const char *const pubs[] = { "p256.pub", "p384.pub", "rsa2048.pub", "ed25519.pub" };
	for (size_t i = 0; i < ELEMENTSOF(privs); i++) {
		size_t n = 0;
		_cleanup_free_ char *pem = vector_read(privs[i], &n);
		_cleanup_(trust_private_key_freep) struct trust_private_key *priv = NULL;
		assert_int_equal(trust_private_key_from_pem(pem, n, &priv), 0);
		_cleanup_free_ char *pub_pem = vector_read(pubs[i], &n);
		_cleanup_(trust_key_freep) struct trust_key *pub = NULL;
		assert_int_equal(trust_key_from_pem(pub_pem, n, &pub), 0);

		_cleanup_free_ char *payload = NULL, *sig = NULL;
		size_t size = 0;
		assert_int_equal(simple_signing_write(f->reference, f->other_digest, NULL, 0, &payload, &size), 0);
		assert_int_equal(simple_signing_sign(priv, payload, size, &sig), 0);
		_cleanup_(simple_signing_done) struct simple_signing signed_for = {};
		assert_int_equal(simple_signing_verify(payload, size, sig, pub, DIGESTS(f->other_digest), &signed_for),
				 0);
		assert_string_equal(signed_for.docker_reference, f->reference);
		assert_int_equal(simple_signing_verify(payload, size, sig, pub, DIGESTS(f->digest), NULL), -EXDEV);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_altered_payload),
		cmocka_unit_test(test_other_digest),
		cmocka_unit_test(test_refused_payloads),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_not_der),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_write_matches_cosign),
		cmocka_unit_test(test_sign_and_verify),
		cmocka_unit_test(test_verity_claim),
		cmocka_unit_test(test_verity_round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
