/* SPDX-License-Identifier: Apache-2.0 */
#include "pem.h"

#include <errno.h>
#include <stdbool.h>

#include "base64.h"
#include "util.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether [p, end) starts with "-----WHAT LABEL-----" and a line end (or
 * the end); *next is after it. */
static bool match_line(const char *p, const char *end, const char *what, const char *label, const char **next)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "-----%s %s-----", what, label);
	if (n < 0 || (size_t) n >= sizeof(line) || (size_t) (end - p) < (size_t) n || memcmp(p, line, (size_t) n) != 0)
		return false;
	p += n;
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p != '\n')
		return false;
	*next = p < end ? p + 1 : p;
	return true;
}

int pem_decode(const void *text, size_t size, const char *const *labels, size_t max_der, unsigned char **ret,
	       size_t *ret_size, size_t *ret_label)
{
	const char *p = text, *end = p + size;
	while (p < end && is_blank(*p))
		p++;
	while (end > p && is_blank(end[-1]))
		end--;

	size_t which = 0;
	const char *body = NULL;
	for (; labels[which]; which++)
		if (match_line(p, end, "BEGIN", labels[which], &body))
			break;
	if (!labels[which])
		return -EBADMSG;

	/* The END line is the last line; everything between is the body. */
	char end_line[128];
	int n = snprintf(end_line, sizeof(end_line), "-----END %s-----", labels[which]);
	if (n < 0 || (size_t) n >= sizeof(end_line) || (size_t) (end - body) < (size_t) n ||
	    memcmp(end - n, end_line, (size_t) n) != 0)
		return -EBADMSG;
	const char *body_end = end - n;
	if (body_end <= body || body_end[-1] != '\n')
		return -EBADMSG;

	/* Base64 in lines: only line ends are dropped, so a header, a blank
	 * or a second BEGIN inside fails the strict decoder. */
	size_t body_size = (size_t) (body_end - body);
	if (body_size / 4 * 3 > max_der + max_der / 2 + 64)
		return -E2BIG;
	_cleanup_free_ char *joined = malloc(body_size + 1);
	if (!joined)
		return -ENOMEM;
	size_t k = 0;
	for (const char *q = body; q < body_end; q++) {
		if (*q == '\n')
			continue;
		if (*q == '\r' && q + 1 < body_end && q[1] == '\n')
			continue;
		joined[k++] = *q;
	}
	joined[k] = '\0';
	size_t der_size = 0;
	unsigned char *der = NULL;
	int r = base64_decode_strict(joined, k, max_der, &der, &der_size);
	if (r < 0)
		return r;
	if (der_size == 0) {
		free(der);
		return -EBADMSG;
	}
	*ret = der;
	*ret_size = der_size;
	if (ret_label)
		*ret_label = which;
	return 0;
}
