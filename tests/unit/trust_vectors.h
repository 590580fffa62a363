/* SPDX-License-Identifier: Apache-2.0 */
/* The test vectors of tests/trust/gen_vectors.py: a committed run in
 * tests/unit/data/trust, or a fresh one named by TRUST_VECTORS (make
 * check-trust). */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#include "util.h"

/* The whole file NAME (NUL-terminated; size in *ret_size if not NULL);
 * fails the test when missing. */
static inline char *vector_read(const char *name, size_t *ret_size)
{
	const char *dir = getenv("TRUST_VECTORS");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/unit/data/trust", name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "missing test vector %s\n", path);
		abort();
	}
	char *buf = NULL;
	size_t size = 0, cap = 0;
	for (;;) {
		if (size + 4096 + 1 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		size_t n = fread(buf + size, 1, 4096, f);
		size += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[size] = '\0';
	if (ret_size)
		*ret_size = size;
	return buf;
}
