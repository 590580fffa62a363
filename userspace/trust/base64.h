/* SPDX-License-Identifier: Apache-2.0 */
/* Strict base64 (RFC 4648 section 4, padded): what cosign writes and nothing
 * else. Signatures and key files come from registries and users' files, so
 * line breaks, blanks, a missing or extra '=' and non-zero padding bits are
 * refused instead of being guessed at: one encoding per byte string. */
#pragma once

#include <stddef.h>

/* Decodes the first len chars of s into a new buffer (NUL-terminated for
 * convenience, the NUL not counted in *ret_size). Refuses more than max_out
 * decoded bytes with -E2BIG before allocating; bad text gives -EBADMSG. */
int base64_decode_strict(const char *s, size_t len, size_t max_out, unsigned char **ret, size_t *ret_size);

/* The padded encoding of data, NUL-terminated. */
int base64_encode(const void *data, size_t size, char **ret);
