/* SPDX-License-Identifier: Apache-2.0 */
/* cosign's encrypted private key file (`cosign generate-key-pair`): PEM
 * "ENCRYPTED SIGSTORE PRIVATE KEY" (older: "ENCRYPTED COSIGN PRIVATE KEY")
 * around JSON
 *   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":B64},
 *    "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
 * (go-securesystemslib's encrypted package): scrypt(password, salt) is the
 * secretbox key; the plaintext is the PKCS#8 DER private key. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "key.h"

/* scrypt's cost is chosen by whoever wrote the file: a file asking for
 * N=2^30 would take hours and 128 GiB. Accepted: N a power of two up to
 * 2^17, r up to 16, p up to 4, and 128 * N * r at most 128 MiB (cosign
 * writes N=32768, r=8, p=1: 32 MiB, ~0.1 s). */
#define COSIGN_KEY_SCRYPT_N_MAX (1u << 17)
#define COSIGN_KEY_SCRYPT_R_MAX 16u
#define COSIGN_KEY_SCRYPT_P_MAX 4u
#define COSIGN_KEY_SCRYPT_MEM_MAX (128u * 1024 * 1024)

/* The PKCS#8 DER in the file, in a new buffer (caller frees; it is a
 * secret: OPENSSL_cleanse it). Errors: -EBADMSG a malformed file (PEM,
 * JSON, base64, member missing or unknown, salt or nonce of a wrong size);
 * -EPROTONOSUPPORT a kdf other than scrypt or a cipher other than
 * nacl/secretbox; -E2BIG scrypt parameters over the bounds above (refused
 * before any work); -EKEYREJECTED wrong password (or altered ciphertext). */
int cosign_key_decrypt(const void *pem, size_t size, const char *password, size_t password_size, unsigned char **ret,
		       size_t *ret_size);

/* cosign_key_decrypt, then trust_private_key_from_der. */
int cosign_key_load(const void *pem, size_t size, const char *password, size_t password_size,
		    struct trust_private_key **ret);

/* Whether the text is one of cosign's encrypted key files (by its label),
 * so a caller knows to ask for a password. */
bool cosign_key_is_encrypted(const void *pem, size_t size);
