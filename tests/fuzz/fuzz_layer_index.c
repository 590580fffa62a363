/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: a layer index as a disk holds it (image/layer_index.c),
 * opened and read through: every layer's entries, every file record.
 * The footer's sha256 is recomputed over the input first, so the fuzzer
 * reaches the parser behind it (a damaged file fails that check). Whatever
 * is accepted must be within the bounds the reader promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "layer_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 32 || size > (1u << 20))
		return 0;
	uint8_t *copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	unsigned len = 0;
	if (EVP_Digest(copy, size - 32, copy + size - 32, &len, EVP_sha256(), NULL) != 1)
		abort();
	struct layer_index *idx = NULL;
	if (layer_index_open_memory(copy, size, &idx) == 0) {
		if (layer_index_n_layers(idx) > LAYER_INDEX_LAYERS_MAX ||
		    strlen(layer_index_settings(idx)) > LAYER_INDEX_SETTINGS_MAX)
			abort();
		for (size_t i = 0; i < layer_index_n_layers(idx); i++) {
			struct layer_index_cursor *c = NULL;
			if (strlen(layer_index_digest(idx, i)) > LAYER_INDEX_DIGEST_MAX ||
			    layer_index_cursor_open(idx, i, &c) < 0)
				abort();
			struct flatten_entry e;
			uint64_t ordinal = 0;
			while (layer_index_cursor_next(c, &e) > 0) {
				if (strlen(e.path) > FLATTEN_PATH_MAX || e.n_xattrs > LAYER_INDEX_XATTRS_MAX)
					abort();
				for (size_t x = 0; x < e.n_xattrs; x++)
					if (e.xattrs[x].size > LAYER_INDEX_XATTR_VALUE_MAX)
						abort();
				(void) layer_index_find_file(idx, (uint32_t) i, ordinal++);
			}
			layer_index_cursor_free(c);
		}
		layer_index_free(idx);
	}
	free(copy);
	return 0;
}
