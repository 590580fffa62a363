/* SPDX-License-Identifier: Apache-2.0 */
/* One PEM block (RFC 7468), strictly: "-----BEGIN LABEL-----", lines of
 * base64 (base64.h), "-----END LABEL-----", and nothing but blanks around
 * it. Headers (RFC 1421's "Proc-Type: 4,ENCRYPTED"), a second block or text
 * before or after are refused: a key file is exactly one key. */
#pragma once

#include <stddef.h>

/* labels: the accepted labels, NULL-terminated; *ret_label gets the index
 * of the one found (ret_label may be NULL). The decoded bytes (at most
 * max_der, else -E2BIG) in a new buffer; -EBADMSG for anything else. */
int pem_decode(const void *text, size_t size, const char *const *labels, size_t max_der, unsigned char **ret,
	       size_t *ret_size, size_t *ret_label);
