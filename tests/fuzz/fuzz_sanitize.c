/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the printable form of any bytes (lib/sanitize.c) has no byte a
 * terminal acts on, is its own printable form, and a cut one is a prefix of
 * the whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *clean = sanitize_strdup(text);
	if (clean) {
		size_t len = strlen(clean);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char) clean[i] < 0x20 || clean[i] == 0x7f)
				abort();
		char *again = sanitize_strdup(clean);
		if (again && strcmp(again, clean) != 0)
			abort();
		free(again);
		char cut[64];
		size_t n = size % sizeof(cut) + 1;
		if (sanitize_to(cut, n, text) != len || strncmp(cut, clean, strlen(cut)) != 0 || strlen(cut) >= n)
			abort();
	}
	free(clean);
	free(text);
	return 0;
}
