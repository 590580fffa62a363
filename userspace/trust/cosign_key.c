/* SPDX-License-Identifier: Apache-2.0 */
#include "cosign_key.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <stdbool.h>

#include "base64.h"
#include "log.h"
#include "pem.h"
#include "secretbox.h"
#include "strict_json.h"

static const char *const labels[] = { "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY", NULL };

/* The JSON of a key file is a few hundred bytes. */
#define JSON_MAX 8192u
#define SALT_MAX 64u
#define CIPHERTEXT_MAX TRUST_KEY_PEM_MAX

bool cosign_key_is_encrypted(const void *pem, size_t size)
{
	const char *p = pem;
	size_t skip = 0;
	while (skip < size && (p[skip] == ' ' || p[skip] == '\t' || p[skip] == '\n' || p[skip] == '\r'))
		skip++;
	for (size_t i = 0; labels[i]; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "-----BEGIN %s-----", labels[i]);
		if (n > 0 && size - skip >= (size_t) n && memcmp(p + skip, line, (size_t) n) == 0)
			return true;
	}
	return false;
}

/* A base64 member of o, exactly want bytes long when want > 0. */
static int get_b64(json_t *o, const char *name, size_t want, size_t max, unsigned char **ret, size_t *ret_size)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v))
		return log_error_errno(-EBADMSG, "Encrypted key file: %s is not a string", name);
	int r = base64_decode_strict(json_string_value(v), json_string_length(v), max, ret, ret_size);
	if (r < 0)
		return log_error_errno(-EBADMSG, "Encrypted key file: %s is not base64 of at most %zu bytes", name,
				       max);
	if (want > 0 && *ret_size != want) {
		free(TAKE_PTR(*ret));
		return log_error_errno(-EBADMSG, "Encrypted key file: %s is %zu bytes, not %zu", name, *ret_size, want);
	}
	return 0;
}

/* An integer member in [1, max]. */
static int get_param(json_t *params, const char *name, uint64_t max, uint64_t *ret)
{
	json_t *v = json_object_get(params, name);
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return log_error_errno(-EBADMSG, "Encrypted key file: scrypt parameter %s is not a positive integer",
				       name);
	if ((uint64_t) json_integer_value(v) > max)
		return log_error_errno(-E2BIG, "Encrypted key file: scrypt parameter %s=%lld over the limit of %llu",
				       name, (long long) json_integer_value(v), (unsigned long long) max);
	*ret = (uint64_t) json_integer_value(v);
	return 0;
}

static void evp_kdf_freep(EVP_KDF **p)
{
	EVP_KDF_free(*p);
}
static void evp_kdf_ctx_freep(EVP_KDF_CTX **p)
{
	EVP_KDF_CTX_free(*p);
}

static int scrypt(const char *password, size_t password_size, const unsigned char *salt, size_t salt_size, uint64_t n,
		  uint64_t r, uint64_t p, uint8_t out[static SECRETBOX_KEY_SIZE])
{
	_cleanup_(evp_kdf_freep) EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	_cleanup_(evp_kdf_ctx_freep) EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	if (!ctx)
		return -ENOMEM;
	uint32_t r32 = (uint32_t) r, p32 = (uint32_t) p;
	/* OpenSSL's own memory cap, a second fence behind ours. */
	uint64_t maxmem = COSIGN_KEY_SCRYPT_MEM_MAX * 2ull;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *) password, password_size),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *) salt, salt_size),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_KDF_derive(ctx, out, SECRETBOX_KEY_SIZE, params) != 1) {
		ERR_clear_error();
		return log_error_errno(-EIO, "scrypt failed");
	}
	return 0;
}

int cosign_key_decrypt(const void *pem, size_t size, const char *password, size_t password_size, unsigned char **ret,
		       size_t *ret_size)
{
	if (size > TRUST_KEY_PEM_MAX)
		return log_error_errno(-E2BIG, "Encrypted key file of %zu bytes refused (at most %u)", size,
				       TRUST_KEY_PEM_MAX);
	_cleanup_free_ unsigned char *text = NULL;
	size_t text_size = 0;
	int r = pem_decode(pem, size, labels, JSON_MAX, &text, &text_size, NULL);
	if (r < 0)
		return log_error_errno(r, "Not a cosign encrypted key file (one PEM block \"%s\")", labels[0]);

	json_error_t error;
	json_auto_t *root = json_loadb((const char *) text, text_size, JSON_REJECT_DUPLICATES, &error);
	static const char *const top[] = { "kdf", "cipher", "ciphertext" };
	static const char *const kdf_names[] = { "name", "params", "salt" };
	static const char *const cipher_names[] = { "name", "nonce" };
	static const char *const param_names[] = { "N", "r", "p" };
	if (!strict_json_has_exactly(root, top, ELEMENTSOF(top)))
		return log_error_errno(-EBADMSG, "Encrypted key file: not an object of kdf, cipher and ciphertext");
	json_t *kdf = json_object_get(root, "kdf"), *cipher = json_object_get(root, "cipher");
	if (!strict_json_has_exactly(kdf, kdf_names, ELEMENTSOF(kdf_names)) ||
	    !strict_json_has_exactly(cipher, cipher_names, ELEMENTSOF(cipher_names)))
		return log_error_errno(-EBADMSG, "Encrypted key file: kdf or cipher malformed");
	const char *kdf_name = json_string_value(json_object_get(kdf, "name"));
	const char *cipher_name = json_string_value(json_object_get(cipher, "name"));
	if (!kdf_name || !streq(kdf_name, "scrypt") || !cipher_name || !streq(cipher_name, "nacl/secretbox"))
		return log_error_errno(-EPROTONOSUPPORT,
				       "Encrypted key file: only kdf scrypt and cipher nacl/secretbox are supported");

	/* The cost is checked before anything is derived. */
	json_t *params = json_object_get(kdf, "params");
	if (!strict_json_has_exactly(params, param_names, ELEMENTSOF(param_names)))
		return log_error_errno(-EBADMSG, "Encrypted key file: scrypt params are not exactly N, r, p");
	uint64_t n = 0, rr = 0, p = 0;
	if ((r = get_param(params, "N", COSIGN_KEY_SCRYPT_N_MAX, &n)) < 0 ||
	    (r = get_param(params, "r", COSIGN_KEY_SCRYPT_R_MAX, &rr)) < 0 ||
	    (r = get_param(params, "p", COSIGN_KEY_SCRYPT_P_MAX, &p)) < 0)
		return r;
	if (n < 2 || (n & (n - 1)) != 0)
		return log_error_errno(-EBADMSG, "Encrypted key file: scrypt N=%llu is not a power of two",
				       (unsigned long long) n);
	if (128 * n * rr > COSIGN_KEY_SCRYPT_MEM_MAX)
		return log_error_errno(-E2BIG, "Encrypted key file: scrypt N=%llu r=%llu needs more than %u MiB",
				       (unsigned long long) n, (unsigned long long) rr,
				       COSIGN_KEY_SCRYPT_MEM_MAX >> 20);

	_cleanup_free_ unsigned char *salt = NULL, *nonce = NULL, *box = NULL;
	size_t salt_size = 0, nonce_size = 0, box_size = 0;
	if ((r = get_b64(kdf, "salt", 0, SALT_MAX, &salt, &salt_size)) < 0 ||
	    (r = get_b64(cipher, "nonce", SECRETBOX_NONCE_SIZE, SECRETBOX_NONCE_SIZE, &nonce, &nonce_size)) < 0 ||
	    (r = get_b64(root, "ciphertext", 0, CIPHERTEXT_MAX, &box, &box_size)) < 0)
		return r;

	uint8_t key[SECRETBOX_KEY_SIZE];
	r = scrypt(password, password_size, salt, salt_size, n, rr, p, key);
	if (r < 0)
		return r;
	uint8_t *plain = NULL;
	size_t plain_size = 0;
	r = secretbox_open(box, box_size, nonce, key, &plain, &plain_size);
	OPENSSL_cleanse(key, sizeof(key));
	if (r == -EBADMSG)
		return log_error_errno(-EKEYREJECTED,
				       "Wrong password for the encrypted key file (or the file was altered)");
	if (r < 0)
		return log_error_errno(r, "Failed to decrypt the key file: %m");
	*ret = plain;
	*ret_size = plain_size;
	return 0;
}

int cosign_key_load(const void *pem, size_t size, const char *password, size_t password_size,
		    struct trust_private_key **ret)
{
	unsigned char *der = NULL;
	size_t der_size = 0;
	int r = cosign_key_decrypt(pem, size, password, password_size, &der, &der_size);
	if (r < 0)
		return r;
	r = trust_private_key_from_der(der, der_size, ret);
	OPENSSL_cleanse(der, der_size);
	free(der);
	if (r < 0)
		return log_error_errno(r, "The encrypted key file holds no usable private key: %m");
	return 0;
}
