/* SPDX-License-Identifier: Apache-2.0 */
#include "key.h"

#include <errno.h>
#include <stdbool.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "log.h"
#include "pem.h"

/* The DER inside a PEM key file is well under its text size. */
#define KEY_DER_MAX TRUST_KEY_PEM_MAX

struct trust_key {
	EVP_PKEY *pkey;
	enum trust_key_type type;
	char fingerprint[TRUST_FINGERPRINT_SIZE];
};

struct trust_private_key {
	EVP_PKEY *pkey;
	enum trust_key_type type;
};

static void evp_pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}
static void evp_md_ctx_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}

const char *trust_key_type_name(enum trust_key_type type)
{
	switch (type) {
	case TRUST_KEY_ECDSA_P256:
		return "ecdsa-p256";
	case TRUST_KEY_ECDSA_P384:
		return "ecdsa-p384";
	case TRUST_KEY_RSA:
		return "rsa";
	case TRUST_KEY_ED25519:
		return "ed25519";
	}
	return "unknown";
}

/* Which of the accepted kinds pkey is; -EPROTONOSUPPORT for the rest. */
static int classify(EVP_PKEY *pkey, enum trust_key_type *ret)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC: {
		char group[64];
		int explicit_params = 1;
		/* A curve spelled out in explicit parameters is refused even if
		 * it equals a named one (the CVE-2020-0601 class of trick). */
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1 ||
		    EVP_PKEY_get_int_param(pkey, OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, &explicit_params) !=
			    1 ||
		    explicit_params != 0)
			return -EPROTONOSUPPORT;
		if (streq(group, "prime256v1") || streq(group, "P-256"))
			*ret = TRUST_KEY_ECDSA_P256;
		else if (streq(group, "secp384r1") || streq(group, "P-384"))
			*ret = TRUST_KEY_ECDSA_P384;
		else
			return -EPROTONOSUPPORT;
		return 0;
	}
	case EVP_PKEY_RSA: {
		/* Below 2048 bits is breakable; above 8192 only makes each
		 * check slower for whoever hands us the key. */
		int bits = EVP_PKEY_get_bits(pkey);
		if (bits < 2048 || bits > 8192)
			return -EPROTONOSUPPORT;
		*ret = TRUST_KEY_RSA;
		return 0;
	}
	case EVP_PKEY_ED25519:
		*ret = TRUST_KEY_ED25519;
		return 0;
	default:
		return -EPROTONOSUPPORT;
	}
}

static const EVP_MD *key_md(enum trust_key_type type)
{
	switch (type) {
	case TRUST_KEY_ECDSA_P384:
		return EVP_sha384();
	case TRUST_KEY_ED25519:
		return NULL; /* pure Ed25519 hashes internally */
	default:
		return EVP_sha256();
	}
}

/* A public key from its DER SubjectPublicKeyInfo, which must be canonical
 * (re-encoding gives the same bytes), so one key has one fingerprint. */
static int key_from_der(const unsigned char *der, size_t size, struct trust_key **ret)
{
	if (size > KEY_DER_MAX)
		return -E2BIG;
	const unsigned char *p = der;
	_cleanup_(evp_pkey_freep) EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long) size);
	if (!pkey || p != der + size) {
		ERR_clear_error();
		return -EBADMSG;
	}
	unsigned char *again = NULL;
	int again_size = i2d_PUBKEY(pkey, &again);
	bool same = again_size == (int) size && memcmp(again, der, size) == 0;
	OPENSSL_free(again);
	if (!same)
		return -EBADMSG;

	enum trust_key_type type;
	int r = classify(pkey, &type);
	if (r < 0)
		return r;

	unsigned char md[32];
	unsigned md_size = 0;
	if (EVP_Digest(der, size, md, &md_size, EVP_sha256(), NULL) != 1 || md_size != sizeof(md))
		return -EIO;

	struct trust_key *key = calloc(1, sizeof(*key));
	if (!key)
		return -ENOMEM;
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(md); i++) {
		key->fingerprint[2 * i] = hex[md[i] >> 4];
		key->fingerprint[2 * i + 1] = hex[md[i] & 15];
	}
	key->pkey = TAKE_PTR(pkey);
	key->type = type;
	*ret = key;
	return 0;
}

int trust_key_from_pem(const void *pem, size_t size, struct trust_key **ret)
{
	if (size > TRUST_KEY_PEM_MAX)
		return -E2BIG;
	static const char *const labels[] = { "PUBLIC KEY", NULL };
	_cleanup_free_ unsigned char *der = NULL;
	size_t der_size = 0;
	int r = pem_decode(pem, size, labels, KEY_DER_MAX, &der, &der_size, NULL);
	if (r < 0)
		return r;
	return key_from_der(der, der_size, ret);
}

void trust_key_free(struct trust_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

enum trust_key_type trust_key_type(const struct trust_key *key)
{
	return key->type;
}

const char *trust_key_fingerprint(const struct trust_key *key)
{
	return key->fingerprint;
}

int trust_key_verify(const struct trust_key *key, const void *data, size_t size, const void *sig, size_t sig_size)
{
	if (sig_size == 0 || sig_size > TRUST_SIGNATURE_MAX)
		return -EBADMSG;
	_cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* RSA keeps OpenSSL's default padding, PKCS#1 v1.5, as cosign does;
	 * ECDSA's verify refuses a signature that is not exactly DER. */
	if (EVP_DigestVerifyInit(ctx, NULL, key_md(key->type), NULL, key->pkey) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	int ok = EVP_DigestVerify(ctx, sig, sig_size, data, size);
	ERR_clear_error();
	return ok == 1 ? 0 : -EBADMSG;
}

static int private_key_take(EVP_PKEY **pkey, struct trust_private_key **ret)
{
	enum trust_key_type type;
	int r = classify(*pkey, &type);
	if (r < 0)
		return r;
	struct trust_private_key *key = calloc(1, sizeof(*key));
	if (!key)
		return -ENOMEM;
	key->pkey = TAKE_PTR(*pkey);
	key->type = type;
	*ret = key;
	return 0;
}

int trust_private_key_from_der(const void *der, size_t size, struct trust_private_key **ret)
{
	if (size > KEY_DER_MAX)
		return -E2BIG;
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long) size);
	if (!p8 || p != (const unsigned char *) der + size) {
		PKCS8_PRIV_KEY_INFO_free(p8);
		ERR_clear_error();
		return -EBADMSG;
	}
	_cleanup_(evp_pkey_freep) EVP_PKEY *pkey = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (!pkey) {
		ERR_clear_error();
		return -EBADMSG;
	}
	return private_key_take(&pkey, ret);
}

int trust_private_key_from_pem(const void *pem, size_t size, struct trust_private_key **ret)
{
	if (size > TRUST_KEY_PEM_MAX)
		return -E2BIG;
	static const char *const labels[] = { "PRIVATE KEY", "EC PRIVATE KEY", NULL };
	_cleanup_free_ unsigned char *der = NULL;
	size_t der_size = 0, which = 0;
	int r = pem_decode(pem, size, labels, KEY_DER_MAX, &der, &der_size, &which);
	if (r < 0)
		return r;
	if (which == 0)
		return trust_private_key_from_der(der, der_size, ret);

	/* SEC1 "EC PRIVATE KEY", what `openssl ecparam -genkey` writes. */
	const unsigned char *p = der;
	_cleanup_(evp_pkey_freep) EVP_PKEY *pkey = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long) der_size);
	if (!pkey || p != der + der_size) {
		ERR_clear_error();
		return -EBADMSG;
	}
	return private_key_take(&pkey, ret);
}

void trust_private_key_free(struct trust_private_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

int trust_private_key_public(const struct trust_private_key *key, struct trust_key **ret)
{
	unsigned char *der = NULL;
	int size = i2d_PUBKEY(key->pkey, &der);
	if (size <= 0) {
		ERR_clear_error();
		return -EIO;
	}
	int r = key_from_der(der, (size_t) size, ret);
	OPENSSL_free(der);
	return r;
}

int trust_sign(const struct trust_private_key *key, const void *data, size_t size, unsigned char **ret,
	       size_t *ret_size)
{
	_cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	size_t sig_size = 0;
	if (EVP_DigestSignInit(ctx, NULL, key_md(key->type), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &sig_size, data, size) != 1) {
		ERR_clear_error();
		return log_error_errno(-EIO, "Failed to set up signing with a %s key", trust_key_type_name(key->type));
	}
	_cleanup_free_ unsigned char *sig = malloc(sig_size);
	if (!sig)
		return -ENOMEM;
	if (EVP_DigestSign(ctx, sig, &sig_size, data, size) != 1) {
		ERR_clear_error();
		return log_error_errno(-EIO, "Failed to sign with a %s key", trust_key_type_name(key->type));
	}
	*ret = TAKE_PTR(sig);
	*ret_size = sig_size;
	return 0;
}
