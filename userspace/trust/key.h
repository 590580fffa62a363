/* SPDX-License-Identifier: Apache-2.0 */
/* Signing keys as cosign uses them: public keys from PEM "PUBLIC KEY"
 * (SubjectPublicKeyInfo), private keys from PEM "PRIVATE KEY" (PKCS#8) or
 * "EC PRIVATE KEY", or the PKCS#8 DER inside cosign's encrypted key file
 * (cosign_key.h). Accepted, with the hash sigstore's default for each
 * (signature.LoadDefaultVerifier): ECDSA P-256 (cosign's default) with
 * SHA-256, ECDSA P-384 with SHA-384, RSA 2048..8192 bits with PKCS#1 v1.5
 * and SHA-256, Ed25519 pure. ECDSA signatures are ASN.1 DER, as cosign
 * writes them. Not accepted: cosign before 2.x signed P-384 with SHA-256,
 * and recent cosign signs with Ed25519 keys in Ed25519ph (prehashed), which
 * OpenSSL 3.0 does not have (3.2 does). */
#pragma once

#include <stddef.h>

#include "util.h"

/* A key file bigger than this is not a key (an RSA 8192 PEM is ~1.5 KiB). */
#define TRUST_KEY_PEM_MAX (16u * 1024)
/* The largest signature any accepted key makes (RSA 8192). */
#define TRUST_SIGNATURE_MAX 1024u
/* sha256 of the DER SubjectPublicKeyInfo, 64 lowercase hex digits. */
#define TRUST_FINGERPRINT_SIZE (64 + 1)

enum trust_key_type {
	TRUST_KEY_ECDSA_P256,
	TRUST_KEY_ECDSA_P384,
	TRUST_KEY_RSA,
	TRUST_KEY_ED25519,
};

struct trust_key;
struct trust_private_key;

/* -EBADMSG: not exactly one PEM "PUBLIC KEY" block (only blanks around it)
 * holding a canonical DER key; -EPROTONOSUPPORT: a key of another type or
 * curve, or RSA outside 2048..8192 bits; -E2BIG: more than TRUST_KEY_PEM_MAX. */
int trust_key_from_pem(const void *pem, size_t size, struct trust_key **ret);
void trust_key_free(struct trust_key *key);
static inline void trust_key_freep(struct trust_key **key)
{
	trust_key_free(*key);
}

enum trust_key_type trust_key_type(const struct trust_key *key);
/* "ecdsa-p256", "ecdsa-p384", "rsa", "ed25519". */
const char *trust_key_type_name(enum trust_key_type type);
/* sha256 of the key's DER SubjectPublicKeyInfo in hex, for status lines
 * (the same as `openssl pkey -pubin -outform DER | sha256sum`). */
const char *trust_key_fingerprint(const struct trust_key *key);

/* 0 if sig is key's signature of data[0..size); -EBADMSG otherwise (wrong
 * key, altered data, a signature not in DER or longer than
 * TRUST_SIGNATURE_MAX). */
int trust_key_verify(const struct trust_key *key, const void *data, size_t size, const void *sig, size_t sig_size);

/* -EBADMSG: not exactly one PEM "PRIVATE KEY" or "EC PRIVATE KEY" block
 * (an encrypted one is cosign_key.h's); -EPROTONOSUPPORT as above. */
int trust_private_key_from_pem(const void *pem, size_t size, struct trust_private_key **ret);
/* From PKCS#8 DER (what cosign's encrypted key file holds). */
int trust_private_key_from_der(const void *der, size_t size, struct trust_private_key **ret);
void trust_private_key_free(struct trust_private_key *key);
static inline void trust_private_key_freep(struct trust_private_key **key)
{
	trust_private_key_free(*key);
}
/* The public half, e.g. to print its fingerprint or to check a signature
 * just made. */
int trust_private_key_public(const struct trust_private_key *key, struct trust_key **ret);

/* Signs data the way trust_key_verify checks it: *ret is a new buffer
 * (ECDSA: DER) of *ret_size bytes. */
int trust_sign(const struct trust_private_key *key, const void *data, size_t size, unsigned char **ret,
	       size_t *ret_size);
