/* SPDX-License-Identifier: Apache-2.0 */
/* userspace/trust/cosign_key.c and secretbox.c against NaCl's secretbox and
 * cosign's key file format as PyNaCl writes them (tests/trust/gen_vectors.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cosign_key.h"
#include "secretbox.h"
#include "simple_signing.h"
#include "trust_vectors.h"

static size_t unhex(const char *s, size_t len, uint8_t *out)
{
	for (size_t i = 0; i + 1 < len + 1 && i < len; i += 2) {
		unsigned v = 0;
		assert_int_equal(sscanf(s + i, "%2x", &v), 1);
		out[i / 2] = (uint8_t) v;
	}
	return len / 2;
}

static void test_secretbox_vectors(void **state)
{
	(void) state;
	_cleanup_free_ char *text = vector_read("secretbox.txt", NULL);
	size_t cases = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *f[4] = {};
		f[0] = line;
		for (int i = 1; i < 4; i++) {
			f[i] = strchr(f[i - 1], ' ');
			assert_non_null(f[i]);
			*f[i]++ = '\0';
		}
		uint8_t key[32], nonce[24];
		assert_int_equal(unhex(f[0], strlen(f[0]), key), 32);
		assert_int_equal(unhex(f[1], strlen(f[1]), nonce), 24);
		_cleanup_free_ uint8_t *msg = malloc(strlen(f[2]) / 2 + 1);
		_cleanup_free_ uint8_t *box = malloc(strlen(f[3]) / 2 + 1);
		size_t msg_size = unhex(f[2], strlen(f[2]), msg);
		size_t box_size = unhex(f[3], strlen(f[3]), box);
		assert_int_equal(box_size, msg_size + SECRETBOX_TAG_SIZE);

		_cleanup_free_ uint8_t *plain = NULL;
		size_t plain_size = 0;
		assert_int_equal(secretbox_open(box, box_size, nonce, key, &plain, &plain_size), 0);
		assert_int_equal(plain_size, msg_size);
		assert_memory_equal(plain, msg, msg_size);

		/* One bit anywhere in tag or ciphertext, the nonce or the key. */
		uint8_t *none = NULL;
		for (size_t at = 0; at < box_size; at += 7) {
			box[at] ^= 0x80;
			assert_int_equal(secretbox_open(box, box_size, nonce, key, &none, &plain_size), -EBADMSG);
			box[at] ^= 0x80;
		}
		nonce[23] ^= 1;
		assert_int_equal(secretbox_open(box, box_size, nonce, key, &none, &plain_size), -EBADMSG);
		nonce[23] ^= 1;
		key[0] ^= 1;
		assert_int_equal(secretbox_open(box, box_size, nonce, key, &none, &plain_size), -EBADMSG);
		assert_null(none);
		cases++;
	}
	assert_int_equal(cases, 12);
	uint8_t key[32] = {}, nonce[24] = {}, *none = NULL;
	size_t n = 0;
	assert_int_equal(secretbox_open(key, 15, nonce, key, &none, &n), -EBADMSG);
}

static char *password(size_t *size)
{
	return vector_read("password", size);
}

static void expect_loads(const char *file, const char *fingerprint_file)
{
	size_t size = 0, pw_size = 0;
	_cleanup_free_ char *pem = vector_read(file, &size);
	_cleanup_free_ char *pw = password(&pw_size);
	assert_true(cosign_key_is_encrypted(pem, size));
	_cleanup_(trust_private_key_freep) struct trust_private_key *priv = NULL;
	assert_int_equal(cosign_key_load(pem, size, pw, pw_size, &priv), 0);
	_cleanup_(trust_key_freep) struct trust_key *pub = NULL;
	assert_int_equal(trust_private_key_public(priv, &pub), 0);
	_cleanup_free_ char *fingerprint = vector_read(fingerprint_file, NULL);
	assert_string_equal(trust_key_fingerprint(pub), fingerprint);

	/* It signs what the public key file verifies. */
	static const char data[] = "payload";
	_cleanup_free_ char *sig = NULL;
	assert_int_equal(simple_signing_sign(priv, data, sizeof(data), &sig), 0);
	assert_non_null(sig);
}

static void test_decrypt(void **state)
{
	(void) state;
	expect_loads("cosign.key", "p256.fingerprint");
	expect_loads("cosign-legacy.key", "p256.fingerprint");
	expect_loads("cosign-ed25519.key", "ed25519.fingerprint");
}

static void expect_refused(const char *file, const char *pw, int error)
{
	size_t size = 0;
	_cleanup_free_ char *pem = vector_read(file, &size);
	unsigned char *der = NULL;
	size_t der_size = 0;
	print_message("# %s\n", file);
	assert_int_equal(cosign_key_decrypt(pem, size, pw, strlen(pw), &der, &der_size), error);
	assert_null(der);
}

static void test_wrong_password(void **state)
{
	(void) state;
	_cleanup_free_ char *pw = password(NULL);
	expect_refused("cosign.key", "", -EKEYREJECTED);
	expect_refused("cosign.key", "kairos test passwore", -EKEYREJECTED);
	pw[strlen(pw) - 1] = '\0';
	expect_refused("cosign.key", pw, -EKEYREJECTED);
}

/* A file asking scrypt for hours or gigabytes is refused before any work
 * (OpenSSL's own limit would say -EIO after allocating, not -E2BIG). */
static void test_hostile_scrypt(void **state)
{
	(void) state;
	_cleanup_free_ char *pw = password(NULL);
	expect_refused("cosign-hostile-n.key", pw, -E2BIG);
	expect_refused("cosign-hostile-r.key", pw, -E2BIG);
	expect_refused("cosign-hostile-p.key", pw, -E2BIG);
	expect_refused("cosign-hostile-mem.key", pw, -E2BIG);
	expect_refused("cosign-n-not-pow2.key", pw, -EBADMSG);
}

static void test_malformed(void **state)
{
	(void) state;
	_cleanup_free_ char *pw = password(NULL);
	expect_refused("cosign-argon.key", pw, -EPROTONOSUPPORT);
	expect_refused("cosign-aes.key", pw, -EPROTONOSUPPORT);
	expect_refused("cosign-extra.key", pw, -EBADMSG);
	/* A plain private key, a public key: not encrypted key files. */
	expect_refused("p256.key", pw, -EBADMSG);
	expect_refused("p256.pub", pw, -EBADMSG);

	size_t size = 0;
	_cleanup_free_ char *pem = vector_read("cosign.key", &size);
	assert_false(cosign_key_is_encrypted("x", 1));
	unsigned char *der = NULL;
	size_t der_size = 0;
	/* Cut short; one base64 char changed (JSON or a field breaks). */
	assert_int_equal(cosign_key_decrypt(pem, size / 2, pw, strlen(pw), &der, &der_size), -EBADMSG);
	pem[70] = pem[70] == 'A' ? 'B' : 'A';
	assert_true(cosign_key_decrypt(pem, size, pw, strlen(pw), &der, &der_size) < 0);
	assert_null(der);

	/* Decrypts (right password) to something that is not a key. */
	size = 0;
	_cleanup_free_ char *not_key = vector_read("cosign-not-a-key.key", &size);
	struct trust_private_key *priv = NULL;
	assert_int_equal(cosign_key_load(not_key, size, pw, strlen(pw), &priv), -EBADMSG);
	assert_null(priv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secretbox_vectors), cmocka_unit_test(test_decrypt),
		cmocka_unit_test(test_wrong_password),    cmocka_unit_test(test_hostile_scrypt),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
