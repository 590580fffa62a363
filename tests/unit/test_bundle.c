/* SPDX-License-Identifier: Apache-2.0 */
/* userspace/trust/bundle.c (cosign 3's Sigstore bundles) on bundles made by
 * cosign_registry.py's encoder and by npm's Sigstore libraries
 * (tests/cosign/gen_bundle_vectors.py, committed in tests/unit/data/bundle;
 * BUNDLE_VECTORS=DIR for another run), and referrers.c's pure parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base64.h"
#include "bundle.h"
#include "referrers.h"
#include "trust_vectors.h"

#define DIGESTS(...) ((const char *const[]){ __VA_ARGS__, NULL })

struct fixture {
	char *digest, *index_digest, *other_digest, *identity;
	struct trust_key *key;
};

static struct trust_key *load_key(const char *name)
{
	size_t n = 0;
	_cleanup_free_ char *pem = vector_read(name, &n);
	struct trust_key *key = NULL;
	assert_int_equal(trust_key_from_pem(pem, n, &key), 0);
	return key;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->digest = vector_read("digest", NULL);
	f->index_digest = vector_read("index-digest", NULL);
	f->other_digest = vector_read("other-digest", NULL);
	f->identity = vector_read("identity", NULL);
	f->key = load_key("ecdsa.pub");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->digest);
	free(f->index_digest);
	free(f->other_digest);
	free(f->identity);
	trust_key_free(f->key);
	free(f);
	return 0;
}

static int verify_file(const char *name, const struct trust_key *key, const char *const *digests,
		       struct bundle_result *ret)
{
	size_t n = 0;
	_cleanup_free_ char *json = vector_read(name, &n);
	return bundle_verify(json, n, key, digests, ret);
}

static void test_pae(void **state)
{
	(void) state;
	/* DSSE protocol.md's example. */
	_cleanup_free_ unsigned char *pae = NULL;
	size_t n = 0;
	assert_int_equal(dsse_pae("http://example.com/HelloWorld", "hello world", 11, &pae, &n), 0);
	static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(pae, want, n);
	_cleanup_free_ unsigned char *empty = NULL;
	assert_int_equal(dsse_pae("", "", 0, &empty, &n), 0);
	assert_int_equal(n, strlen("DSSEv1 0  0 "));
	assert_memory_equal(empty, "DSSEv1 0  0 ", n);
}

static void test_valid(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *file, *key;
		bool named;
	} cases[] = {
		{ "valid-ecdsa.json", "ecdsa.pub", true },     { "valid-rsa.json", "rsa.pub", true },
		{ "valid-ed25519.json", "ed25519.pub", true }, { "valid-cosign3.json", "ecdsa.pub", false },
		{ "valid-tlog.json", "ecdsa.pub", false },     { "npm.json", "ecdsa.pub", false },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_(trust_key_freep) struct trust_key *key = load_key(cases[i].key);
		_cleanup_(bundle_result_done) struct bundle_result r = {};
		assert_int_equal(verify_file(cases[i].file, key, DIGESTS(f->digest), &r), 0);
		assert_string_equal(r.digest, f->digest);
		if (cases[i].named)
			assert_string_equal(r.identity, f->identity);
		else
			assert_null(r.identity); /* cosign 3 names no repository */
	}
}

static void test_index_or_platform(void **state)
{
	struct fixture *f = *state;
	/* SIGNATURES.md decision 3: the index's digest or the platform's. */
	assert_int_equal(verify_file("valid-index.json", f->key, DIGESTS(f->digest, f->index_digest), NULL), 0);
	assert_int_equal(verify_file("valid-ecdsa.json", f->key, DIGESTS(f->digest, f->index_digest), NULL), 0);
	assert_int_equal(verify_file("valid-index.json", f->key, DIGESTS(f->digest), NULL), -EXDEV);
}

static void test_wrong_key(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(verify_file("wrong-key.json", f->key, DIGESTS(f->digest), NULL), -EKEYREJECTED);
	_cleanup_(trust_key_freep) struct trust_key *rsa = load_key("rsa.pub");
	_cleanup_(trust_key_freep) struct trust_key *ed = load_key("ed25519.pub");
	assert_int_equal(verify_file("valid-ecdsa.json", rsa, DIGESTS(f->digest), NULL), -EKEYREJECTED);
	assert_int_equal(verify_file("valid-ecdsa.json", ed, DIGESTS(f->digest), NULL), -EKEYREJECTED);
	assert_int_equal(verify_file("valid-rsa.json", f->key, DIGESTS(f->digest), NULL), -EKEYREJECTED);
	/* A keyless bundle: its certificate is never trusted. */
	assert_int_equal(verify_file("keyless.json", f->key, DIGESTS(f->digest), NULL), -EKEYREJECTED);
	/* The signature not in DER (r || s). */
	assert_int_equal(verify_file("raw-signature.json", f->key, DIGESTS(f->digest), NULL), -EKEYREJECTED);
}

static void test_altered(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(verify_file("alter-payload.json", f->key, DIGESTS(f->digest), NULL), -EKEYREJECTED);
	/* Every byte of the signed statement flipped in turn. */
	size_t n = 0;
	_cleanup_free_ char *json = vector_read("valid-ecdsa.json", &n);
	struct bundle b = {};
	assert_int_equal(bundle_parse(json, n, &b, NULL), 0);
	for (size_t i = 0; i < b.payload_size; i++) {
		b.payload[i] ^= 0x01;
		_cleanup_free_ char *payload = NULL;
		assert_int_equal(base64_encode(b.payload, b.payload_size, &payload), 0);
		b.payload[i] ^= 0x01;
		/* splice the altered payload into the same bundle */
		const char *p = strstr(json, "\"payload\":\"") + strlen("\"payload\":\"");
		const char *end = strchr(p, '"');
		_cleanup_free_ char *altered = NULL;
		assert_true(asprintf(&altered, "%.*s%s%s", (int) (p - json), json, payload, end) > 0);
		assert_int_equal(bundle_verify(altered, strlen(altered), f->key, DIGESTS(f->digest), NULL),
				 -EKEYREJECTED);
	}
	bundle_done(&b);
}

static void test_other_digest(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(verify_file("other-digest.json", f->key, DIGESTS(f->digest), NULL), -EXDEV);
	assert_int_equal(verify_file("other-digest.json", f->key, DIGESTS(f->other_digest), NULL), 0);
	assert_int_equal(verify_file("valid-ecdsa.json", f->key, DIGESTS(f->other_digest), NULL), -EXDEV);
	assert_int_equal(verify_file("valid-ecdsa.json", f->key, NULL, NULL), -EXDEV);
}

static void test_refused_bundles(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = {
		"wrong-payload-type.json", "two-signatures.json", "malformed-json.json", "bad-base64.json",
		"bundle-dup.json",         "bundle-v02.json",     "bundle-extra.json",   "message-signature.json",
	};
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		size_t n = 0;
		_cleanup_free_ char *json = vector_read(files[i], &n);
		struct bundle b = {};
		const char *reason = NULL;
		assert_int_equal(bundle_parse(json, n, &b, &reason), -EBADMSG);
		assert_non_null(reason);
		assert_int_equal(bundle_verify(json, n, f->key, DIGESTS(f->digest), NULL), -EBADMSG);
	}
}

static void test_refused_statements(void **state)
{
	struct fixture *f = *state;
	/* Signed by the trusted key, naming the right digest, but not a
	 * signature cosign writes. */
	static const char *const files[] = { "attestation.json", "statement-v01.json", "statement-extra.json",
					     "statement-dup.json", "statement-upper.json" };
	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		assert_int_equal(verify_file(files[i], f->key, DIGESTS(f->digest, f->other_digest), NULL), -EBADMSG);
}

static void test_parse_shapes(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"",
		"null",
		"[]",
		"{}",
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\"}",
		/* no verification material */
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":{},"
		"\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":\"application/vnd.in-toto+json\","
		"\"signatures\":[{\"sig\":\"AA==\"}]}}",
		/* two kinds of material */
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
		"{\"publicKey\":{},\"certificate\":{}},\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":"
		"\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"AA==\"}]}}",
		/* a hint with ESC */
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
		"{\"publicKey\":{\"hint\":\"\\u001b[2J\"}},\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":"
		"\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"AA==\"}]}}",
		/* no signature */
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
		"{\"publicKey\":{}},\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":"
		"\"application/vnd.in-toto+json\",\"signatures\":[]}}",
		/* an empty sig */
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
		"{\"publicKey\":{}},\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":"
		"\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"\"}]}}",
		/* payload in the URL alphabet without padding */
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
		"{\"publicKey\":{}},\"dsseEnvelope\":{\"payload\":\"e30\",\"payloadType\":"
		"\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"AA==\"}]}}",
		/* an unknown member in a signature */
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
		"{\"publicKey\":{}},\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":"
		"\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"AA==\",\"cert\":\"x\"}]}}",
		/* 33 tlog entries */
		"{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"verificationMaterial\":"
		"{\"publicKey\":{},\"tlogEntries\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},"
		"{},{},{},{},{},{},{},{},{},{},{},{},{}]},\"dsseEnvelope\":{\"payload\":\"e30=\",\"payloadType\":"
		"\"application/vnd.in-toto+json\",\"signatures\":[{\"sig\":\"AA==\"}]}}",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct bundle b = {};
		const char *reason = NULL;
		assert_int_equal(bundle_parse(bad[i], strlen(bad[i]), &b, &reason), -EBADMSG);
		assert_non_null(reason);
	}
	/* A valid bundle followed by a second document. */
	size_t n = 0;
	_cleanup_free_ char *json = vector_read("valid-ecdsa.json", &n);
	_cleanup_free_ char *twice = NULL;
	assert_true(asprintf(&twice, "%s%s", json, json) > 0);
	assert_int_equal(bundle_verify(twice, strlen(twice), f->key, DIGESTS(f->digest), NULL), -EBADMSG);
	struct bundle b = {};
	assert_int_equal(bundle_parse(json, n, &b, NULL), 0);
	assert_string_equal(b.payload_type, BUNDLE_PAYLOAD_TYPE);
	assert_false(b.keyless);
	bundle_done(&b);
	/* The alternate spelling of v0.3's media type. */
	_cleanup_free_ char *alt = NULL;
	const char *rest = strstr(json, "\"verificationMaterial\"");
	assert_true(asprintf(&alt, "{\"mediaType\":\"" BUNDLE_MEDIA_TYPE_ALT "\",%s", rest) > 0);
	assert_int_equal(bundle_verify(alt, strlen(alt), f->key, DIGESTS(f->digest), NULL), 0);
}

static void test_statements(void **state)
{
	struct fixture *f = *state;
	const char *hex = f->digest + 7;
	char *s = NULL;
	struct bundle_result r = {};
	const char *reason = NULL;
	/* Several subjects: the one that matches is the result. */
	assert_true(asprintf(&s,
			     "{\"_type\":\"" BUNDLE_STATEMENT_TYPE "\",\"subject\":[{\"name\":\"a\",\"digest\":{"
			     "\"sha512\":\"00\"}},{\"name\":\"b\",\"digest\":{\"sha256\":\"%s\"}}],\"predicateType\":"
			     "\"" BUNDLE_PREDICATE_TYPE "\"}",
			     hex) > 0);
	assert_int_equal(bundle_statement_check(s, strlen(s), DIGESTS(f->digest), &r, &reason), 0);
	assert_string_equal(r.identity, "b");
	bundle_result_done(&r);
	free(s);
	static const char *const bad[] = {
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE "\",\"subject\":[],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE
		"\"}",
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE "\",\"subject\":{},\"predicateType\":\"" BUNDLE_PREDICATE_TYPE
		"\"}",
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE
		"\",\"subject\":[{\"digest\":{}}],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE "\"}",
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE
		"\",\"subject\":[{\"digest\":{\"sha256\":1}}],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE "\"}",
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE
		"\",\"subject\":[{\"digest\":{\"sha256\":\"../x\"}}],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE "\"}",
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE "\",\"subject\":[{\"name\":\"a\\u001bb\",\"digest\":{\"sha1\":"
		"\"0\"}}],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE "\"}",
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE
		"\",\"subject\":[{\"x\":1,\"digest\":{\"sha1\":\"0\"}}],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE
		"\"}",
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE
		"\",\"subject\":[{\"digest\":{\"sha1\":\"0\"}}],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE
		"\",\"predicate\":[]}",
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE "\",\"subject\":[{\"digest\":{\"sha1\":\"0\"}}]}",
		"{\"subject\":[{\"digest\":{\"sha1\":\"0\"}}],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE "\"}",
		"[]",
		"",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		reason = NULL;
		assert_int_equal(bundle_statement_check(bad[i], strlen(bad[i]), DIGESTS(f->digest), &r, &reason),
				 -EBADMSG);
		assert_non_null(reason);
	}
	/* No sha256 at all: signed for nothing we install. */
	static const char no_sha256[] =
		"{\"_type\":\"" BUNDLE_STATEMENT_TYPE
		"\",\"subject\":[{\"digest\":{\"sha512\":\"00\"}}],\"predicateType\":\"" BUNDLE_PREDICATE_TYPE "\"}";
	assert_int_equal(bundle_statement_check(no_sha256, strlen(no_sha256), DIGESTS(f->digest), &r, &reason), -EXDEV);
}

static void test_oversized(void **state)
{
	struct fixture *f = *state;
	/* A bundle of 256 KiB + 1 is refused before it is parsed. */
	size_t n = BUNDLE_SIZE_MAX + 1;
	_cleanup_free_ char *big = malloc(n);
	memset(big, ' ', n);
	struct bundle b = {};
	assert_int_equal(bundle_parse(big, n, &b, NULL), -E2BIG);
	assert_int_equal(bundle_verify(big, n, f->key, DIGESTS(f->digest), NULL), -E2BIG);
	/* A statement of 64 KiB + 1 is refused before its signature is checked. */
	_cleanup_free_ char *stmt = malloc(BUNDLE_STATEMENT_MAX + 1);
	memset(stmt, ' ', BUNDLE_STATEMENT_MAX + 1);
	_cleanup_free_ char *b64 = NULL;
	assert_int_equal(base64_encode(stmt, BUNDLE_STATEMENT_MAX + 1, &b64), 0);
	_cleanup_free_ char *json = NULL;
	assert_true(asprintf(&json,
			     "{\"mediaType\":\"" BUNDLE_MEDIA_TYPE "\",\"verificationMaterial\":{\"publicKey\":{}},"
			     "\"dsseEnvelope\":{\"payload\":\"%s\",\"payloadType\":\"" BUNDLE_PAYLOAD_TYPE
			     "\",\"signatures\":[{\"sig\":\"AA==\"}]}}",
			     b64) > 0);
	const char *reason = NULL;
	assert_int_equal(bundle_parse(json, strlen(json), &b, &reason), -EBADMSG);
	assert_non_null(strstr(reason, "64 KiB"));
	/* 64 KiB exactly decodes (and then fails its signature). */
	b64[0] = '\0';
	free(b64);
	b64 = NULL;
	assert_int_equal(base64_encode(stmt, BUNDLE_STATEMENT_MAX, &b64), 0);
	free(json);
	json = NULL;
	assert_true(asprintf(&json,
			     "{\"mediaType\":\"" BUNDLE_MEDIA_TYPE "\",\"verificationMaterial\":{\"publicKey\":{}},"
			     "\"dsseEnvelope\":{\"payload\":\"%s\",\"payloadType\":\"" BUNDLE_PAYLOAD_TYPE
			     "\",\"signatures\":[{\"sig\":\"AA==\"}]}}",
			     b64) > 0);
	assert_int_equal(bundle_verify(json, strlen(json), f->key, DIGESTS(f->digest), NULL), -EKEYREJECTED);
}

static void test_referrers_index(void **state)
{
	(void) state;
	static const char d1[] = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	static const char d2[] = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
	_cleanup_free_ char *idx = NULL;
	/* a signature, an attestation, another artifact type, an image, the signature again, one without annotations */
	assert_true(
		asprintf(
			&idx,
			"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
			"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":1,"
			"\"artifactType\":\"" REFERRER_ARTIFACT_TYPE
			"\",\"annotations\":{\"dev.sigstore.bundle.predicateType\":\"" BUNDLE_PREDICATE_TYPE "\"}},"
			"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":1,"
			"\"artifactType\":\"" REFERRER_ARTIFACT_TYPE
			"\",\"annotations\":{\"dev.sigstore.bundle.predicateType\":\"https://slsa.dev/provenance/"
			"v1\"}},"
			"{\"mediaType\":\"application/"
			"vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":1,\"artifactType\":\"application/"
			"spdx+json\"},"
			"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":1},"
			"{\"mediaType\":\"application/"
			"vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":1,\"artifactType\":"
			"\"" REFERRER_ARTIFACT_TYPE "\"},"
			"{\"mediaType\":\"application/"
			"vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":1,\"artifactType\":"
			"\"" REFERRER_ARTIFACT_TYPE "\"}]}",
			d1, d2, d2, d2, d1, d2) > 0);
	char(*list)[DIGEST_STRING_MAX] = NULL;
	size_t n = 0;
	const char *reason = NULL;
	assert_int_equal(referrers_parse_index(idx, strlen(idx), &list, &n, &reason), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0], d1);
	assert_string_equal(list[1], d2);
	free(list);

	/* 17 distinct bundles: refused, not truncated; 1025 entries. */
	_cleanup_free_ char *many = NULL;
	size_t size = 0;
	FILE *m = open_memstream(&many, &size);
	fputs("{\"manifests\":[", m);
	for (unsigned i = 0; i <= REFERRERS_BUNDLES_MAX; i++)
		fprintf(m,
			"%s{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%064x\","
			"\"size\":1,\"artifactType\":\"" REFERRER_ARTIFACT_TYPE "\"}",
			i ? "," : "", i);
	fputs("]}", m);
	fclose(m);
	assert_int_equal(referrers_parse_index(many, size, &list, &n, &reason), -E2BIG);
	free(many);
	m = open_memstream(&many, &size);
	fputs("{\"manifests\":[", m);
	for (unsigned i = 0; i <= REFERRERS_ENTRIES_MAX; i++)
		fprintf(m, "%s{}", i ? "," : "");
	fputs("]}", m);
	fclose(m);
	assert_int_equal(referrers_parse_index(many, size, &list, &n, &reason), -E2BIG);

	static const char *const bad[] = {
		"",
		"[]",
		"{}",
		"{\"manifests\":{}}",
		"{\"manifests\":[1]}",
		"{\"manifests\":[],\"manifests\":[]}",
		"{\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:../"
		"x\","
		"\"artifactType\":\"" REFERRER_ARTIFACT_TYPE "\"}]}",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(referrers_parse_index(bad[i], strlen(bad[i]), &list, &n, &reason), -EBADMSG);
}

static void test_referrer_manifest(void **state)
{
	(void) state;
	char digest[DIGEST_STRING_MAX];
	uint64_t size = 0;
	const char *reason = NULL;
#define LAYER(type, size)                                                                \
	"\"layers\":[{\"mediaType\":\"" type "\",\"size\":" size ",\"digest\":\"sha256:" \
	"3333333333333333333333333333333333333333333333333333333333333333\"}]"
	static const char good[] = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
				   "\"artifactType\":\"" REFERRER_ARTIFACT_TYPE "\",\"config\":{\"mediaType\":"
				   "\"application/vnd.oci.empty.v1+json\",\"size\":2,\"digest\":\"sha256:"
				   "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"}," LAYER(
					   REFERRER_ARTIFACT_TYPE, "700") "}";
	assert_int_equal(referrers_parse_manifest(good, strlen(good), digest, &size, &reason), 0);
	assert_int_equal(size, 700);
	/* The artifact type as the config's media type (OCI 1.1 without artifactType). */
	static const char old[] =
		"{\"config\":{\"mediaType\":\"" REFERRER_ARTIFACT_TYPE "\"}," LAYER(REFERRER_ARTIFACT_TYPE, "700") "}";
	assert_int_equal(referrers_parse_manifest(old, strlen(old), digest, &size, &reason), 0);
	static const char *const bad[] = {
		"{\"artifactType\":\"x\"," LAYER(REFERRER_ARTIFACT_TYPE, "700") "}",
		"{\"artifactType\":\"" REFERRER_ARTIFACT_TYPE "\"," LAYER("application/json", "700") "}",
		"{\"artifactType\":\"" REFERRER_ARTIFACT_TYPE "\"," LAYER(REFERRER_ARTIFACT_TYPE, "262145") "}",
		"{\"artifactType\":\"" REFERRER_ARTIFACT_TYPE "\"," LAYER(REFERRER_ARTIFACT_TYPE, "104857600") "}",
		"{\"artifactType\":\"" REFERRER_ARTIFACT_TYPE "\"," LAYER(REFERRER_ARTIFACT_TYPE, "0") "}",
		"{\"artifactType\":\"" REFERRER_ARTIFACT_TYPE "\",\"layers\":[]}",
		"{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"artifactType\":\"" REFERRER_ARTIFACT_TYPE
		"\"," LAYER(REFERRER_ARTIFACT_TYPE, "700") "}",
		"[]",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(referrers_parse_manifest(bad[i], strlen(bad[i]), digest, &size, &reason), -EBADMSG);
}

int main(void)
{
	const char *dir = getenv("BUNDLE_VECTORS");
	setenv("TRUST_VECTORS", dir && *dir ? dir : "tests/unit/data/bundle", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pae),
		cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_or_platform, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_altered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_bundles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_statements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test(test_referrers_index),
		cmocka_unit_test(test_referrer_manifest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
