/* SPDX-License-Identifier: Apache-2.0 */
#include "digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

bool digest_is_valid(const char *s)
{
	if (!s || strncmp(s, DIGEST_SHA256_PREFIX, strlen(DIGEST_SHA256_PREFIX)) != 0)
		return false;
	s += strlen(DIGEST_SHA256_PREFIX);
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

int digest_init(struct digest_ctx *ctx)
{
	ctx->md = EVP_MD_CTX_new();
	if (!ctx->md)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
		digest_done(ctx);
		return -EIO;
	}
	return 0;
}

int digest_update(struct digest_ctx *ctx, const void *data, size_t size)
{
	return EVP_DigestUpdate(ctx->md, data, size) == 1 ? 0 : -EIO;
}

int digest_final(struct digest_ctx *ctx, char out[static DIGEST_STRING_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	if (EVP_DigestFinal_ex(ctx->md, md, &len) != 1 || len != 32)
		return -EIO;
	static const char hex[] = "0123456789abcdef";
	char *p = stpcpy(out, DIGEST_SHA256_PREFIX);
	for (unsigned i = 0; i < len; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
	return 0;
}

void digest_done(struct digest_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->md);
	ctx->md = NULL;
}

int digest_buffer(const void *data, size_t size, char out[static DIGEST_STRING_MAX])
{
	struct digest_ctx ctx;
	int r = digest_init(&ctx);
	if (r < 0)
		return r;
	r = digest_update(&ctx, data, size);
	if (r >= 0)
		r = digest_final(&ctx, out);
	digest_done(&ctx);
	return r;
}

int digest_sink_push(void *userdata, const void *data, size_t size)
{
	struct digest_sink *h = userdata;
	int r = digest_update(&h->md, data, size);
	return r < 0 ? r : h->next(h->next_userdata, data, size);
}
