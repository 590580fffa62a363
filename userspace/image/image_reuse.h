/* SPDX-License-Identifier: Apache-2.0 */
/* Building an image from an installed one: when the new image's layers
 * begin with all the layers of an image already on the node (a Dockerfile
 * FROM the current release plus a few RUN lines), those layers are not
 * downloaded: their entries are replayed from the installed image's layer
 * index (layer_index.h) and their files' data read from its squashfs,
 * through the same flattening and writing as a full build, so that the
 * result is byte-identical to it. When the installed image was built with
 * the same settings, its compressed blocks are handed to the writer as
 * they are (block_cache.h) instead of being compressed again.
 *
 * Anything wrong with the installed image or its index while building
 * (a read error, damaged data, a file the index promises and the image
 * lacks) fails the build with -EAGAIN, logged: the caller builds again
 * from all the layers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "image_source.h"
#include "sqfs_writer.h"

/* An installed image that may be reused: its squashfs and its layer index. */
struct build_reuse {
	const char *image;
	const char *index;
	const char *name; /* for messages, e.g. its id */
};

struct image_reuse;

/* The candidate whose layers are the longest prefix of src's (at least
 * one layer). *ret NULL when none is (logged at info level, naming why for
 * each candidate): nothing to reuse. A damaged index or an unreadable
 * image is not an error: that candidate is passed over, with a warning. */
int image_reuse_pick(const struct build_reuse *candidates, size_t n, struct image_source *src,
		     struct image_reuse **ret);
void image_reuse_free(struct image_reuse *r);
static inline void image_reuse_freep(struct image_reuse **r)
{
	if (*r)
		image_reuse_free(*r);
}

/* src's view with the reused layers replayed (valid while r lives). */
struct image_source *image_reuse_source(struct image_reuse *r);
size_t image_reuse_layers(const struct image_reuse *r);
/* The candidate's name (the caller's string). */
const char *image_reuse_name(const struct image_reuse *r);
/* The stored bytes of the layers not downloaded. */
uint64_t image_reuse_bytes(const struct image_reuse *r);
/* The writer the data goes to: when its settings are those the installed
 * image was built with, its blocks are offered to it. Logs which. */
void image_reuse_attach_writer(struct image_reuse *r, struct sqfs_writer *w);
