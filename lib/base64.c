/* SPDX-License-Identifier: Apache-2.0 */
#include "base64.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value_of(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int) (p - alphabet) : -1;
}

/* The text with the looseness flags allow undone: line breaks dropped, the
 * padding written out. NULL text (-ENOMEM) or -EBADMSG. */
static int normalize(const char *s, size_t len, unsigned flags, char **ret, size_t *ret_len)
{
	if (len > SIZE_MAX - 4)
		return -E2BIG;
	_cleanup_free_ char *t = malloc(len + 4);
	if (!t)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (!((flags & BASE64_SKIP_LINE_BREAKS) && (s[i] == '\r' || s[i] == '\n')))
			t[n++] = s[i];
	if ((flags & BASE64_UNPADDED_OK) && n % 4 != 0 && !memchr(t, '=', n)) {
		if (n % 4 == 1)
			return -EBADMSG; /* 6 bits: not a byte */
		while (n % 4 != 0)
			t[n++] = '=';
	}
	t[n] = '\0';
	*ret_len = n;
	*ret = TAKE_PTR(t);
	return 0;
}

int base64_decode(const char *s, size_t len, unsigned flags, size_t max_out, unsigned char **ret, size_t *ret_size)
{
	_cleanup_free_ char *normal = NULL;
	if (flags & (BASE64_SKIP_LINE_BREAKS | BASE64_UNPADDED_OK)) {
		int r = normalize(s, len, flags, &normal, &len);
		if (r < 0)
			return r;
		s = normal;
	}
	if (len % 4 != 0)
		return -EBADMSG;
	size_t pad = 0;
	if (len > 0 && s[len - 1] == '=')
		pad = (len > 1 && s[len - 2] == '=') ? 2 : 1;
	size_t out_size = len / 4 * 3 - pad;
	if (out_size > max_out)
		return -E2BIG;
	_cleanup_free_ unsigned char *out = malloc(out_size + 1);
	if (!out)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		uint32_t acc = 0;
		for (size_t j = 0; j < 4; j++) {
			int v = value_of(s[i + j]);
			/* '=' only as the last one or two chars of the whole text. */
			if (v < 0 && !(last && s[i + j] == '=' && j >= 4 - pad))
				return -EBADMSG;
			acc = (acc << 6) | (uint32_t) (v < 0 ? 0 : v);
		}
		unsigned char b[3] = { (unsigned char) (acc >> 16), (unsigned char) (acc >> 8), (unsigned char) acc };
		size_t take = last ? 3 - pad : 3;
		/* The bits a padded group leaves over must be zero (canonical form). */
		if (last && !(flags & BASE64_NONCANONICAL_OK) && ((pad == 1 && b[2] != 0) || (pad == 2 && b[1] != 0)))
			return -EBADMSG;
		memcpy(out + n, b, take);
		n += take;
	}
	out[n] = '\0';
	*ret_size = n;
	*ret = TAKE_PTR(out);
	return 0;
}

int base64_encode(const void *data, size_t size, char **ret)
{
	const unsigned char *p = data;
	if (size > (SIZE_MAX - 1) / 4 * 3 - 3)
		return -E2BIG;
	char *out = malloc((size + 2) / 3 * 4 + 1);
	if (!out)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < size; i += 3) {
		size_t left = size - i;
		uint32_t acc =
			(uint32_t) p[i] << 16 | (left > 1 ? (uint32_t) p[i + 1] << 8 : 0) | (left > 2 ? p[i + 2] : 0);
		out[n++] = alphabet[(acc >> 18) & 63];
		out[n++] = alphabet[(acc >> 12) & 63];
		out[n++] = left > 1 ? alphabet[(acc >> 6) & 63] : '=';
		out[n++] = left > 2 ? alphabet[acc & 63] : '=';
	}
	out[n] = '\0';
	*ret = out;
	return 0;
}
