/* SPDX-License-Identifier: Apache-2.0 */
/* NaCl's crypto_secretbox (XSalsa20 + Poly1305), the cipher of cosign's
 * encrypted key files. OpenSSL has Poly1305 but no XSalsa20, so the
 * stream cipher is here, written from Bernstein's Salsa20 specification
 * and "Extending the Salsa20 nonce" (HSalsa20). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SECRETBOX_KEY_SIZE 32
#define SECRETBOX_NONCE_SIZE 24
#define SECRETBOX_TAG_SIZE 16

/* HSalsa20: 32 bytes from a key and a 16-byte input. */
void hsalsa20(uint8_t out[static 32], const uint8_t key[static 32], const uint8_t in[static 16]);
/* XOR of data with the XSalsa20 key stream from block `counter` on. */
void xsalsa20_xor(uint8_t *out, const uint8_t *in, size_t size, const uint8_t nonce[static 24],
		  const uint8_t key[static 32], uint64_t counter);

/* Opens box = tag || ciphertext (NaCl's "easy" layout, what Go's
 * secretbox.Seal returns) into a new buffer of size - 16 bytes. The tag is
 * compared in constant time; -EBADMSG when it does not match (wrong key,
 * or altered bytes). */
int secretbox_open(const uint8_t *box, size_t size, const uint8_t nonce[static 24], const uint8_t key[static 32],
		   uint8_t **ret, size_t *ret_size);
