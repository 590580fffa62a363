/* SPDX-License-Identifier: Apache-2.0 */
#include "sanitize.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid, shortest-form UTF-8 sequence at s (its code
 * point in *ret), or 0. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret)
{
	size_t n;
	uint32_t cp, min;
	if (s[0] < 0x80) {
		*ret = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	/* A NUL stops here too: it is no continuation byte. */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret = cp;
	return n;
}

/* Code points that move the cursor, start a sequence, reorder the line or
 * hide in it (controls, line separators, the invisible format characters:
 * bidirectional marks, zero-width ones, the BOM, tags): shown escaped even
 * when well encoded. */
static bool codepoint_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xad || cp == 0x061c || cp == 0x180e ||
	       (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
	       cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f);
}

size_t sanitize_to(char *dst, size_t size, const char *src)
{
	size_t len = 0, written = 0;
	bool fits = size > 0;
	for (const unsigned char *s = (const unsigned char *) src; *s;) {
		char piece[16];
		size_t piece_len;
		uint32_t cp = 0;
		size_t n = utf8_decode(s, &cp);
		if (n == 0) {
			piece_len = (size_t) snprintf(piece, sizeof(piece), "\\x%02x", *s);
			n = 1;
		} else if (codepoint_is_control(cp))
			piece_len = (size_t) snprintf(piece, sizeof(piece),
						      cp < 0x80      ? "\\x%02x"
						      : cp < 0x10000 ? "\\u%04x"
								     : "\\U%08x",
						      (unsigned) cp);
		else {
			memcpy(piece, s, n);
			piece_len = n;
		}
		s += n;
		/* Once a piece does not fit, nothing after it is written: the cut
		 * falls between characters. */
		if (fits && len + piece_len < size) {
			memcpy(dst + len, piece, piece_len);
			written = len + piece_len;
		} else
			fits = false;
		len += piece_len;
	}
	if (size > 0)
		dst[written] = '\0';
	return len;
}

char *sanitize_strdup(const char *src)
{
	if (!src)
		return NULL;
	size_t len = sanitize_to(NULL, 0, src);
	char *s = malloc(len + 1);
	if (s)
		sanitize_to(s, len + 1, src);
	return s;
}

void sanitize_json_string(FILE *f, const char *src)
{
	if (!src) {
		fputs("null", f);
		return;
	}
	char *clean = sanitize_strdup(src);
	fputc('"', f);
	/* The printable form has no control character left to escape. */
	for (const char *p = clean ?: ""; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
	free(clean);
}

void sanitize_print_line(FILE *f, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&line, fmt, ap);
	va_end(ap);
	char *clean = r >= 0 ? sanitize_strdup(line) : NULL;
	fprintf(f, "%s\n", clean ?: "(out of memory)");
	free(clean);
	free(line);
}

bool sanitize_is_printable_ascii(const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max + 1) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f)
			return false;
	return true;
}
