/* SPDX-License-Identifier: Apache-2.0 */
/* What the upper layers will hide, learned from their tar headers alone, so
 * the builder need not compress data that an upper layer deletes or replaces. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image_source.h"

struct shadow_set;

int shadow_set_new(struct shadow_set **ret);
void shadow_set_free(struct shadow_set *s);
static inline void shadow_set_freep(struct shadow_set **s)
{
	if (*s)
		shadow_set_free(*s);
}
/* Record one entry of `layer` at the normalized path. */
int shadow_set_record(struct shadow_set *s, unsigned layer, const char *path, bool is_dir);
/* Whether a file at the normalized path, written by `layer`, is removed or
 * replaced by some layer above it. */
bool shadow_set_hides(const struct shadow_set *s, const char *path, unsigned layer);

/* Read the headers of layers first..n-1 (their data is decompressed and
 * dropped; each stream is read to its end so its digest is checked). */
int shadow_set_scan(struct image_source *src, size_t first, struct shadow_set *s);
