/* SPDX-License-Identifier: Apache-2.0 */
/* flatten_normalize_path(): the check every tar entry and hard link target
 * passes before it touches the tree. Properties: an accepted path is
 * relative, has no "." or ".." or empty components, no component over 255
 * bytes, and normalizing it again gives itself. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flatten.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[8192], out[FLATTEN_PATH_MAX], again[FLATTEN_PATH_MAX];
	size_t out_size = FLATTEN_PATH_MAX;

	if (size == 0 || size >= sizeof(in))
		return 0;
	/* the first byte picks a small output buffer now and then */
	if (data[0] < 16)
		out_size = (size_t) data[0] + 1;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';

	if (flatten_normalize_path(in, out, out_size) < 0)
		return 0;
	assert(strlen(out) < out_size);
	assert(out[0] != '/');
	for (const char *p = out; *p;) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t) (end - p);
		assert(n > 0 && n <= FLATTEN_NAME_MAX);
		assert(!(n == 1 && p[0] == '.'));
		assert(!(n == 2 && p[0] == '.' && p[1] == '.'));
		p = *end ? end + 1 : end;
	}
	assert(flatten_normalize_path(out, again, sizeof(again)) == 0);
	assert(strcmp(out, again) == 0);
	return 0;
}
