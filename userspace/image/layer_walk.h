/* SPDX-License-Identifier: Apache-2.0 */
/* One pass over the tar entries of one layer: open its stream and a reader,
 * hand each entry to the caller, read the stream to its end (so the producer
 * checks its size and digest) and close both. Every pass over a layer (the
 * pre-scan, the main pass, the re-read of revived files) is one of these. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flatten.h"
#include "image_source.h"
#include "layer_reader.h"

struct layer_walk {
	/* Set by the caller. */
	struct expansion_budget *budget; /* as for layer_reader_open() */
	/* Each entry in order: < 0 stops the pass with that error, 0 goes on,
	 * > 0 stops reading entries (the rest of the stream is still read and
	 * checked). */
	int (*entry)(struct layer_walk *w, const struct flatten_entry *e);
	/* Optional: the archive ended before entry() said it had all it
	 * wanted; a negative return fails the pass (the stream is not read
	 * further). */
	int (*archive_end)(struct layer_walk *w);
	void *userdata;

	/* Set by layer_walk() for the callbacks. */
	size_t index;            /* the layer */
	const char *digest;      /* the layer's, for messages */
	struct layer_stream *ls; /* NULL for a replayed layer */
	struct layer_reader *lr; /* NULL for a replayed layer */
	/* The current entry's data, as layer_reader_read_data() gives it,
	 * and the source's failure known so far (layer_reader_check()), for
	 * a caller busy writing holes. */
	data_piece_fn *read_data;
	int (*check)(void *data_ctx);
	void *data_ctx;
	/* The sha256 the current entry's data has, when the source knows it
	 * (and fails the read when the data is not that): NULL otherwise. */
	const uint8_t *data_sha256;
	uint64_t ordinal;      /* of the entry among the layer's entries, from 0 */
	uint64_t stream_bytes; /* after a pass that succeeded: the stored bytes read */
};

/* Layer index of src through w: src->walk_layer() when the source has
 * one, else layer_walk_stream(). Returns 0, or the first error (logged
 * where it was understood). */
int layer_walk(struct image_source *src, size_t index, struct layer_walk *w);
/* The same through the layer's stream (open_layer) and a tar reader. */
int layer_walk_stream(struct image_source *src, size_t index, struct layer_walk *w);
