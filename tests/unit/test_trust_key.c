/* SPDX-License-Identifier: Apache-2.0 */
/* userspace/trust/key.c, pem.c, base64.c against keys and signatures made
 * by Python's cryptography and checked by the openssl CLI
 * (tests/trust/gen_vectors.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base64.h"
#include "key.h"
#include "pem.h"
#include "trust_vectors.h"

static const char *const kinds[] = { "p256", "p384", "rsa2048", "rsa3072", "ed25519" };

static struct trust_key *load_pub(const char *kind)
{
	char name[64];
	snprintf(name, sizeof(name), "%s.pub", kind);
	size_t size = 0;
	_cleanup_free_ char *pem = vector_read(name, &size);
	struct trust_key *key = NULL;
	assert_int_equal(trust_key_from_pem(pem, size, &key), 0);
	return key;
}

static unsigned char *load_sig(const char *name, size_t *ret_size)
{
	size_t size = 0;
	_cleanup_free_ char *b64 = vector_read(name, &size);
	unsigned char *sig = NULL;
	assert_int_equal(base64_decode_strict(b64, size, TRUST_SIGNATURE_MAX, &sig, ret_size), 0);
	return sig;
}

static void test_valid_each_type(void **state)
{
	(void) state;
	static const enum trust_key_type types[] = { TRUST_KEY_ECDSA_P256, TRUST_KEY_ECDSA_P384, TRUST_KEY_RSA,
						     TRUST_KEY_RSA, TRUST_KEY_ED25519 };
	size_t size = 0;
	_cleanup_free_ char *payload = vector_read("payload", &size);
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
		_cleanup_(trust_key_freep) struct trust_key *key = load_pub(kinds[i]);
		assert_int_equal(trust_key_type(key), types[i]);
		char name[64];
		snprintf(name, sizeof(name), "%s.fingerprint", kinds[i]);
		_cleanup_free_ char *fingerprint = vector_read(name, NULL);
		assert_string_equal(trust_key_fingerprint(key), fingerprint);

		snprintf(name, sizeof(name), "%s.sig", kinds[i]);
		size_t sig_size = 0;
		_cleanup_free_ unsigned char *sig = load_sig(name, &sig_size);
		assert_int_equal(trust_key_verify(key, payload, size, sig, sig_size), 0);

		/* One byte changed anywhere in the payload, or in the signature. */
		for (size_t at = 0; at < size; at += size / 7) {
			payload[at] ^= 1;
			assert_int_equal(trust_key_verify(key, payload, size, sig, sig_size), -EBADMSG);
			payload[at] ^= 1;
		}
		sig[sig_size / 2] ^= 0x10;
		assert_int_equal(trust_key_verify(key, payload, size, sig, sig_size), -EBADMSG);
		sig[sig_size / 2] ^= 0x10;
		/* Cut short, or one byte of garbage after it. */
		assert_int_equal(trust_key_verify(key, payload, size, sig, sig_size - 1), -EBADMSG);
		_cleanup_free_ unsigned char *longer = malloc(sig_size + 1);
		memcpy(longer, sig, sig_size);
		longer[sig_size] = 0;
		assert_int_equal(trust_key_verify(key, payload, size, longer, sig_size + 1), -EBADMSG);
		assert_int_equal(trust_key_verify(key, payload, size, sig, 0), -EBADMSG);
	}
}

static void test_wrong_key(void **state)
{
	(void) state;
	size_t size = 0, sig_size = 0;
	_cleanup_free_ char *payload = vector_read("payload", &size);
	_cleanup_free_ unsigned char *sig = load_sig("p256.sig", &sig_size);
	/* Another key of the same kind, and every other kind. */
	static const char *const others[] = { "p256b", "p384", "rsa2048", "ed25519" };
	for (size_t i = 0; i < ELEMENTSOF(others); i++) {
		_cleanup_(trust_key_freep) struct trust_key *key = load_pub(others[i]);
		assert_int_equal(trust_key_verify(key, payload, size, sig, sig_size), -EBADMSG);
	}
	/* An Ed25519 signature under RSA, an RSA one under P-256. */
	_cleanup_free_ unsigned char *ed = load_sig("ed25519.sig", &sig_size);
	_cleanup_(trust_key_freep) struct trust_key *rsa = load_pub("rsa2048");
	assert_int_equal(trust_key_verify(rsa, payload, size, ed, sig_size), -EBADMSG);
}

static void test_not_der(void **state)
{
	(void) state;
	size_t size = 0, sig_size = 0;
	_cleanup_free_ char *payload = vector_read("payload", &size);
	_cleanup_(trust_key_freep) struct trust_key *key = load_pub("p256");
	/* The valid signature's r || s: the same numbers, not DER. */
	_cleanup_free_ unsigned char *raw = load_sig("p256-raw.sig", &sig_size);
	assert_int_equal(sig_size, 64);
	assert_int_equal(trust_key_verify(key, payload, size, raw, sig_size), -EBADMSG);
	/* Valid DER with a non-minimal length (0x81 0xNN): BER, not DER. */
	_cleanup_free_ unsigned char *der = load_sig("p256.sig", &sig_size);
	_cleanup_free_ unsigned char *ber = malloc(sig_size + 1);
	ber[0] = 0x30;
	ber[1] = 0x81;
	memcpy(ber + 2, der + 1, sig_size - 1);
	assert_int_equal(trust_key_verify(key, payload, size, ber, sig_size + 1), -EBADMSG);
	/* Bigger than any signature. */
	_cleanup_free_ unsigned char *huge = calloc(1, TRUST_SIGNATURE_MAX + 1);
	assert_int_equal(trust_key_verify(key, payload, size, huge, TRUST_SIGNATURE_MAX + 1), -EBADMSG);
}

static void expect_key_refused(const char *pem, int error)
{
	struct trust_key *key = NULL;
	assert_int_equal(trust_key_from_pem(pem, strlen(pem), &key), error);
	assert_null(key);
}

static void test_malformed_key_files(void **state)
{
	(void) state;
	_cleanup_free_ char *good = vector_read("p256.pub", NULL);
	_cleanup_(trust_key_freep) struct trust_key *ok = NULL;
	/* Blanks around the block are fine. */
	char *padded = NULL;
	assert_true(asprintf(&padded, "\n  %s\n\n", good) > 0);
	assert_int_equal(trust_key_from_pem(padded, strlen(padded), &ok), 0);
	free(padded);

	expect_key_refused("", -EBADMSG);
	expect_key_refused("not a key", -EBADMSG);
	expect_key_refused("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", -EBADMSG);
	expect_key_refused("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", -EBADMSG);
	expect_key_refused("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n", -EBADMSG);

	size_t n = strlen(good);
	char *bad = strdup(good);
	/* Cut in the middle; END line missing; label of another thing. */
	bad[n / 2] = '\0';
	expect_key_refused(bad, -EBADMSG);
	free(bad);
	bad = strndup(good, n - strlen("-----END PUBLIC KEY-----\n"));
	expect_key_refused(bad, -EBADMSG);
	free(bad);
	char *other = NULL;
	assert_true(asprintf(&other, "-----BEGIN RSA PUBLIC KEY-----%s", strchr(good, '\n')) > 0);
	expect_key_refused(other, -EBADMSG);
	free(other);
	/* Text before, a second block after, a header line, a blank inside. */
	char *twice = NULL;
	assert_true(asprintf(&twice, "comment\n%s", good) > 0);
	expect_key_refused(twice, -EBADMSG);
	free(twice);
	assert_true(asprintf(&twice, "%s%s", good, good) > 0);
	expect_key_refused(twice, -EBADMSG);
	free(twice);
	assert_true(asprintf(&twice, "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n%s", strchr(good, '\n') + 1) >
		    0);
	expect_key_refused(twice, -EBADMSG);
	free(twice);
	bad = strdup(good);
	bad[40] = ' ';
	expect_key_refused(bad, -EBADMSG);
	free(bad);
	/* A private key where a public one belongs. */
	_cleanup_free_ char *priv = vector_read("p256.key", NULL);
	expect_key_refused(priv, -EBADMSG);
	/* Too big to be a key. */
	_cleanup_free_ char *huge = malloc(TRUST_KEY_PEM_MAX + 2);
	memset(huge, ' ', TRUST_KEY_PEM_MAX + 1);
	huge[TRUST_KEY_PEM_MAX + 1] = '\0';
	expect_key_refused(huge, -E2BIG);
}

static void test_refused_kinds(void **state)
{
	(void) state;
	_cleanup_free_ char *small = vector_read("rsa1024.pub", NULL);
	expect_key_refused(small, -EPROTONOSUPPORT);
	_cleanup_free_ char *p521 = vector_read("p521.pub", NULL);
	expect_key_refused(p521, -EPROTONOSUPPORT);
}

static void test_sign_round_trip(void **state)
{
	(void) state;
	static const char *const privs[] = { "p256.key", "p256-sec1.key", "p384.key", "rsa2048.key", "ed25519.key" };
	static const char *const pubs[] = { "p256", "p256", "p384", "rsa2048", "ed25519" };
	static const char data[] = "some bytes";
	for (size_t i = 0; i < ELEMENTSOF(privs); i++) {
		size_t size = 0;
		_cleanup_free_ char *pem = vector_read(privs[i], &size);
		_cleanup_(trust_private_key_freep) struct trust_private_key *priv = NULL;
		assert_int_equal(trust_private_key_from_pem(pem, size, &priv), 0);
		_cleanup_free_ unsigned char *sig = NULL;
		size_t sig_size = 0;
		assert_int_equal(trust_sign(priv, data, sizeof(data), &sig, &sig_size), 0);
		_cleanup_(trust_key_freep) struct trust_key *pub = load_pub(pubs[i]);
		assert_int_equal(trust_key_verify(pub, data, sizeof(data), sig, sig_size), 0);
		_cleanup_(trust_key_freep) struct trust_key *half = NULL;
		assert_int_equal(trust_private_key_public(priv, &half), 0);
		assert_string_equal(trust_key_fingerprint(half), trust_key_fingerprint(pub));
	}
	_cleanup_free_ char *pub = vector_read("p256.pub", NULL);
	struct trust_private_key *priv = NULL;
	assert_int_equal(trust_private_key_from_pem(pub, strlen(pub), &priv), -EBADMSG);
	assert_null(priv);
}

static void expect_b64(const char *s, int error)
{
	unsigned char *out = NULL;
	size_t size = 0;
	assert_int_equal(base64_decode_strict(s, strlen(s), 64, &out, &size), error);
	if (error == 0)
		free(out);
	else
		assert_null(out);
}

static void test_base64(void **state)
{
	(void) state;
	static const char *const good[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "+/+/" };
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "\xfb\xff\xbf" };
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		unsigned char *out = NULL;
		size_t size = 0;
		assert_int_equal(base64_decode_strict(good[i], strlen(good[i]), 64, &out, &size), 0);
		assert_int_equal(size, strlen(plain[i]));
		assert_memory_equal(out, plain[i], size);
		char *again = NULL;
		assert_int_equal(base64_encode(out, size, &again), 0);
		assert_string_equal(again, good[i]);
		free(again);
		free(out);
	}
	/* No padding, extra padding, '=' inside, URL alphabet, blanks, line
	 * ends, NUL, non-zero padding bits (Zh== decodes like Zg== loosely). */
	static const char *const bad[] = { "Zg",    "Zg=",    "Zg===",    "Z===", "Zg==Zg==", "Z=g=", "-_-_",
					   "Zm9 v", "Zm9v\n", "Zm9v\r\n", "Zh==", "Zm9=",     "====", "Zm\x80v" };
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		expect_b64(bad[i], -EBADMSG);
	unsigned char *out = NULL;
	size_t size = 0;
	assert_int_equal(base64_decode_strict("Zm9v\0Zm9v", 8, 64, &out, &size), -EBADMSG);
	assert_int_equal(base64_decode_strict("Zm9vZm9v", 8, 5, &out, &size), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_each_type), cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_not_der),         cmocka_unit_test(test_malformed_key_files),
		cmocka_unit_test(test_refused_kinds),   cmocka_unit_test(test_sign_round_trip),
		cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
