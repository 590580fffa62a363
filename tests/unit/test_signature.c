/* SPDX-License-Identifier: Apache-2.0 */
/* oci/signature.c against an in-memory store: cosign's classic signature
 * (tests/trust/gen_vectors.py's payload and signatures, made by Python's
 * cryptography) at the tag sha256-HEX.sig, under policies built here. The
 * registry cases run in tests/signatures; these run under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "log.h"
#include "signature.h"
#include "simple_signing.h"
#include "trust_vectors.h"

#define DIGEST_OTHER "sha256:1111111111111111111111111111111111111111111111111111111111111111"

struct entry {
	char name[128];
	char *body;
	size_t size;
};

/* Tags (manifests) and blobs by name. */
struct fake_store {
	struct entry e[8];
	size_t n;
};

static void put(struct fake_store *s, const char *name, const char *body, size_t size)
{
	assert_true(s->n < 8);
	struct entry *e = &s->e[s->n++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->body = malloc(size + 1);
	memcpy(e->body, body, size);
	e->body[size] = '\0';
	e->size = size;
}

static const struct entry *find(const struct fake_store *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->e[i].name, name))
			return &s->e[i];
	return NULL;
}

static int fetch_manifest(void *ctx, const char *object, unsigned flags, char **ret_body, size_t *ret_size,
			  char **ret_media_type, char ret_digest[static DIGEST_STRING_MAX])
{
	(void) flags;
	const struct entry *e = find(ctx, object);
	if (!e)
		return -ENOENT;
	*ret_body = strdup(e->body);
	*ret_size = e->size;
	*ret_media_type = NULL;
	return digest_buffer(e->body, e->size, ret_digest);
}

static int produce_blob(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	const struct entry *e = find(ctx, d->digest);
	if (!e || e->size != d->size)
		return -EBADMSG;
	return sink(sink_ctx, e->body, e->size);
}

static void store_done(struct fake_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].body);
}

/* The signature manifest for digest: n layers of the vector payload, each
 * claiming size (0: its own) and carrying sig_name's signature. */
static void put_signatures(struct fake_store *s, const char *digest, size_t n, uint64_t size, const char *sig_name)
{
	size_t psize;
	_cleanup_free_ char *payload = vector_read("payload", &psize);
	_cleanup_free_ char *sig = vector_read(sig_name, NULL);
	sig[strcspn(sig, "\n")] = '\0';
	char pdigest[DIGEST_STRING_MAX];
	assert_int_equal(digest_buffer(payload, psize, pdigest), 0);
	if (!find(s, pdigest))
		put(s, pdigest, payload, psize);
	char *m = NULL;
	size_t msize = 0;
	FILE *f = open_memstream(&m, &msize);
	fprintf(f, "{\"schemaVersion\":2,\"layers\":[");
	for (size_t i = 0; i < n; i++)
		fprintf(f,
			"%s{\"mediaType\":\"" SIMPLE_SIGNING_MEDIA_TYPE "\",\"digest\":\"%s\",\"size\":%llu,"
			"\"annotations\":{\"" SIMPLE_SIGNING_ANNOTATION "\":\"%s\"}}",
			i ? "," : "", pdigest, (unsigned long long) (size ?: psize), sig);
	fprintf(f, "]}");
	fclose(f);
	char tag[DIGEST_STRING_MAX + 8];
	snprintf(tag, sizeof(tag), "sha256-%s.sig", digest + 7);
	put(s, tag, m, msize);
	free(m);
}

/* A policy whose default needs a signature by the vector key pub_name. */
static struct policy *policy_for(const char *pub_name, const char *identity)
{
	size_t size;
	_cleanup_free_ char *pem = vector_read(pub_name, &size), *b64 = NULL;
	assert_int_equal(base64_encode(pem, size, &b64), 0);
	_cleanup_free_ char *text = NULL;
	assert_true(asprintf(&text,
			     "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\","
			     "\"signedIdentity\":{\"type\":\"%s\"}}]}",
			     b64, identity) > 0);
	struct policy *p = NULL;
	struct policy_error error;
	assert_int_equal(policy_parse(text, strlen(text), "test-policy.json", &p, &error), 0);
	return p;
}

struct checked {
	int r;
	struct signature_verdict v;
};

static struct checked run(const struct policy *p, struct fake_store *s, const char *image_ref, const char *digest,
			  const char *index_digest)
{
	struct manifest_store store = {
		.name = "test", .fetch_manifest = fetch_manifest, .produce_blob = produce_blob, .ctx = s
	};
	struct identity_ref image;
	if (image_ref)
		assert_int_equal(identity_ref_parse(image_ref, &image), 0);
	struct checked c;
	c.r = signature_check(p, &store, image_ref ? &image : NULL, "test", digest, index_digest, &c.v);
	return c;
}

static char *vector_digest(void)
{
	char *d = vector_read("digest", NULL);
	d[strcspn(d, "\n")] = '\0';
	return d;
}

static void test_valid_and_recorded(void **state)
{
	(void) state;
	_cleanup_free_ char *digest = vector_digest(), *fp = vector_read("p256.fingerprint", NULL);
	fp[strcspn(fp, "\n")] = '\0';
	struct fake_store s = {};
	put_signatures(&s, digest, 1, 0, "p256.sig");
	_cleanup_(policy_freep) struct policy *p = policy_for("p256.pub", "matchRepository");
	struct checked c = run(p, &s, "127.0.0.1:5000/kairos/os:v1", digest, NULL);
	assert_int_equal(c.r, 0);
	assert_string_equal(c.v.signed_by, fp);
	assert_string_equal(c.v.format, "cosign");
	/* A local image (no identity): the default's key and the digest decide. */
	c = run(p, &s, NULL, digest, NULL);
	assert_int_equal(c.r, 0);
	store_done(&s);
}

static void test_refused(void **state)
{
	(void) state;
	_cleanup_free_ char *digest = vector_digest();
	struct fake_store s = {};
	put_signatures(&s, digest, 1, 0, "p256.sig");
	_cleanup_(policy_freep) struct policy *other_key = policy_for("p384.pub", "matchRepository");
	assert_int_equal(run(other_key, &s, "127.0.0.1:5000/kairos/os:v1", digest, NULL).r, -EACCES);
	_cleanup_(policy_freep) struct policy *p = policy_for("p256.pub", "matchRepository");
	/* Another repository; the exact rule with a repository-only signature. */
	assert_int_equal(run(p, &s, "127.0.0.1:5000/other/os:v1", digest, NULL).r, -EACCES);
	_cleanup_(policy_freep) struct policy *exact = policy_for("p256.pub", "matchExact");
	assert_int_equal(run(exact, &s, "127.0.0.1:5000/kairos/os:v1", digest, NULL).r, -EACCES);
	/* No signature for this digest; a signature naming another. */
	assert_int_equal(run(p, &s, "127.0.0.1:5000/kairos/os:v1", DIGEST_OTHER, NULL).r, -EACCES);
	store_done(&s);
}

static void test_index_digest(void **state)
{
	(void) state;
	_cleanup_free_ char *digest = vector_digest();
	_cleanup_(policy_freep) struct policy *p = policy_for("p256.pub", "matchRepository");
	/* Signed as the index (vector digest), installing its platform image. */
	struct fake_store s = {};
	put_signatures(&s, digest, 1, 0, "p256.sig");
	assert_int_equal(run(p, &s, "127.0.0.1:5000/kairos/os:v1", DIGEST_OTHER, digest).r, 0);
	store_done(&s);
	/* Signed as the platform image, reached through another index. */
	struct fake_store s2 = {};
	put_signatures(&s2, digest, 1, 0, "p256.sig");
	assert_int_equal(run(p, &s2, "127.0.0.1:5000/kairos/os:v1", digest, DIGEST_OTHER).r, 0);
	store_done(&s2);
}

static void test_bounds(void **state)
{
	(void) state;
	_cleanup_free_ char *digest = vector_digest();
	_cleanup_(policy_freep) struct policy *p = policy_for("p256.pub", "matchRepository");
	struct fake_store s = {};
	put_signatures(&s, digest, SIGNATURE_LAYERS_MAX + 1, 0, "p256.sig");
	assert_int_equal(run(p, &s, "127.0.0.1:5000/kairos/os:v1", digest, NULL).r, -E2BIG);
	store_done(&s);
	struct fake_store s2 = {};
	put_signatures(&s2, digest, SIGNATURE_LAYERS_MAX, 0, "p256.sig");
	assert_int_equal(run(p, &s2, "127.0.0.1:5000/kairos/os:v1", digest, NULL).r, 0);
	store_done(&s2);
	struct fake_store s3 = {};
	put_signatures(&s3, digest, 1, SIMPLE_SIGNING_PAYLOAD_MAX + 1, "p256.sig");
	assert_int_equal(run(p, &s3, "127.0.0.1:5000/kairos/os:v1", digest, NULL).r, -E2BIG);
	store_done(&s3);
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_recorded),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_index_digest),
		cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
