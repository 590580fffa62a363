/* SPDX-License-Identifier: Apache-2.0 */
#include "secretbox.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "util.h"

static uint32_t load32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void store32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

static uint32_t rotl(uint32_t v, int n)
{
	return v << n | v >> (32 - n);
}

/* "expand 32-byte k" */
static const uint32_t sigma[4] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };

/* The state: constants on the diagonal, the key around them, 16 bytes of
 * input (nonce and counter, or HSalsa20's input) in words 6..9. */
static void salsa20_setup(uint32_t x[16], const uint8_t key[32], const uint8_t in[16])
{
	x[0] = sigma[0];
	x[5] = sigma[1];
	x[10] = sigma[2];
	x[15] = sigma[3];
	for (int i = 0; i < 4; i++) {
		x[1 + i] = load32(key + 4 * i);
		x[11 + i] = load32(key + 16 + 4 * i);
		x[6 + i] = load32(in + 4 * i);
	}
}

static void quarter(uint32_t x[16], int a, int b, int c, int d)
{
	x[b] ^= rotl(x[a] + x[d], 7);
	x[c] ^= rotl(x[b] + x[a], 9);
	x[d] ^= rotl(x[c] + x[b], 13);
	x[a] ^= rotl(x[d] + x[c], 18);
}

/* 20 rounds: 10 double rounds of a column round and a row round. */
static void salsa20_rounds(uint32_t x[16])
{
	for (int i = 0; i < 10; i++) {
		quarter(x, 0, 4, 8, 12);
		quarter(x, 5, 9, 13, 1);
		quarter(x, 10, 14, 2, 6);
		quarter(x, 15, 3, 7, 11);
		quarter(x, 0, 1, 2, 3);
		quarter(x, 5, 6, 7, 4);
		quarter(x, 10, 11, 8, 9);
		quarter(x, 15, 12, 13, 14);
	}
}

void hsalsa20(uint8_t out[static 32], const uint8_t key[static 32], const uint8_t in[static 16])
{
	uint32_t x[16];
	salsa20_setup(x, key, in);
	salsa20_rounds(x);
	/* No feed-forward: the diagonal and the input words are the output. */
	static const int words[8] = { 0, 5, 10, 15, 6, 7, 8, 9 };
	for (int i = 0; i < 8; i++)
		store32(out + 4 * i, x[words[i]]);
	OPENSSL_cleanse(x, sizeof(x));
}

void xsalsa20_xor(uint8_t *out, const uint8_t *in, size_t size, const uint8_t nonce[static 24],
		  const uint8_t key[static 32], uint64_t counter)
{
	uint8_t subkey[32], block_in[16], block[64];
	hsalsa20(subkey, key, nonce);
	memcpy(block_in, nonce + 16, 8);
	for (size_t off = 0; off < size; off += 64, counter++) {
		for (int i = 0; i < 8; i++)
			block_in[8 + i] = (uint8_t) (counter >> (8 * i));
		uint32_t x[16], start[16];
		salsa20_setup(start, subkey, block_in);
		memcpy(x, start, sizeof(x));
		salsa20_rounds(x);
		for (int i = 0; i < 16; i++)
			store32(block + 4 * i, x[i] + start[i]);
		size_t n = size - off < 64 ? size - off : 64;
		for (size_t i = 0; i < n; i++)
			out[off + i] = in[off + i] ^ block[i];
		OPENSSL_cleanse(x, sizeof(x));
		OPENSSL_cleanse(start, sizeof(start));
	}
	OPENSSL_cleanse(subkey, sizeof(subkey));
	OPENSSL_cleanse(block, sizeof(block));
}

static void evp_mac_freep(EVP_MAC **p)
{
	EVP_MAC_free(*p);
}
static void evp_mac_ctx_freep(EVP_MAC_CTX **p)
{
	EVP_MAC_CTX_free(*p);
}

static int poly1305(uint8_t tag[16], const uint8_t key[32], const uint8_t *data, size_t size)
{
	_cleanup_(evp_mac_freep) EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	_cleanup_(evp_mac_ctx_freep) EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t n = 0;
	if (!ctx || EVP_MAC_init(ctx, key, 32, NULL) != 1 || EVP_MAC_update(ctx, data, size) != 1 ||
	    EVP_MAC_final(ctx, tag, &n, 16) != 1 || n != 16) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

int secretbox_open(const uint8_t *box, size_t size, const uint8_t nonce[static 24], const uint8_t key[static 32],
		   uint8_t **ret, size_t *ret_size)
{
	if (size < SECRETBOX_TAG_SIZE)
		return -EBADMSG;
	const uint8_t *cipher = box + SECRETBOX_TAG_SIZE;
	size_t n = size - SECRETBOX_TAG_SIZE;

	/* The first 32 bytes of the key stream are the one-time Poly1305 key;
	 * the message is XORed with the stream from byte 32 on. */
	uint8_t first[64] = {}, poly_key[64], tag[16];
	xsalsa20_xor(poly_key, first, sizeof(first), nonce, key, 0);
	int r = poly1305(tag, poly_key, cipher, n);
	if (r < 0)
		goto out;
	if (CRYPTO_memcmp(tag, box, sizeof(tag)) != 0) {
		r = -EBADMSG;
		goto out;
	}

	uint8_t *plain = malloc(n + 1);
	if (!plain) {
		r = -ENOMEM;
		goto out;
	}
	/* Bytes 32..63 of block 0, then blocks 1.. as usual. */
	size_t head = n < 32 ? n : 32;
	for (size_t i = 0; i < head; i++)
		plain[i] = cipher[i] ^ poly_key[32 + i];
	if (n > head)
		xsalsa20_xor(plain + head, cipher + head, n - head, nonce, key, 1);
	plain[n] = 0;
	*ret = plain;
	*ret_size = n;
out:
	OPENSSL_cleanse(poly_key, sizeof(poly_key));
	return r;
}
