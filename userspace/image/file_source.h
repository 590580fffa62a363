/* SPDX-License-Identifier: Apache-2.0 */
/* An image_source over local layer files (tar, tar.gz, tar.zst), for tests
 * and offline builds. The media type is guessed from the file's magic
 * bytes; the "digest" is the file path (nothing is verified). */
#pragma once

#include <stddef.h>

#include "image_source.h"

int file_source_new(char *const *paths, size_t n_paths, struct image_source **ret);
void file_source_free(struct image_source *src);
