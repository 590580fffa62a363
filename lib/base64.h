/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 (RFC 4648 section 4), one decoder for every reader. Strict by
 * default, which is what cosign writes: padded, no line breaks, the bits a
 * padded group leaves over zero, so one encoding per byte string; signatures
 * and key files come from registries and users' files, and are refused
 * rather than guessed at. Readers of formats that are looser say how
 * (flags), and nothing else is accepted. */
#pragma once

#include <stddef.h>

enum {
	BASE64_SKIP_LINE_BREAKS = 1 << 0, /* CR and LF anywhere are skipped (Go's encoding/json) */
	BASE64_UNPADDED_OK = 1 << 1,      /* the last group may lack its '=' (docker config "auth") */
	BASE64_NONCANONICAL_OK = 1 << 2,  /* leftover bits may be set (Go's StdEncoding, not Strict()) */
};

/* Decodes the first len chars of s into a new buffer (NUL-terminated for
 * convenience, the NUL not counted in *ret_size). Refuses more than max_out
 * decoded bytes with -E2BIG before allocating; bad text gives -EBADMSG. */
int base64_decode(const char *s, size_t len, unsigned flags, size_t max_out, unsigned char **ret, size_t *ret_size);

static inline int base64_decode_strict(const char *s, size_t len, size_t max_out, unsigned char **ret, size_t *ret_size)
{
	return base64_decode(s, len, 0, max_out, ret, ret_size);
}

/* The padded encoding of data, NUL-terminated. */
int base64_encode(const void *data, size_t size, char **ret);
