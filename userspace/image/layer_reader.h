/* SPDX-License-Identifier: Apache-2.0 */
/* Tar entries of one layer_stream through libarchive, decompressing as the
 * media type says (tar, tar+gzip, tar+zstd). */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "flatten.h"
#include "image_source.h"

struct layer_reader;

/* Decompression bombs: what the layers of one pass over an image may
 * expand to together is 100 times the bytes received so far, and at least
 * 1 GiB. Sparse files' holes count as expanded bytes. One budget per pass,
 * one open reader at a time. */
struct expansion_budget {
	uint64_t received; /* stored bytes of the layers read so far */
	uint64_t expanded; /* tar bytes they produced, plus the holes of sparse files */
};

/* budget may be NULL: the layer alone is held to the limit. */
int layer_reader_open(struct layer_stream *ls, struct expansion_budget *budget, struct layer_reader **ret);
/* Fill *e with the next entry (valid until the next call). Returns 1 for an
 * entry, 0 at the end of the archive, or a negative errno (logged, naming the
 * layer): the stream's own error, or -EBADMSG for a malformed archive. */
int layer_reader_next(struct layer_reader *r, struct flatten_entry *e);
/* The next piece of the current entry's data at *offset (sparse files skip
 * ahead; pieces come in order and within the entry's size). The holes
 * before it, and at the end the hole up to the entry's size, are charged to
 * the expansion budget before this returns: the caller may write them out
 * as zeros. Returns 1 with a piece, 0 at the end of the entry, negative
 * errno (logged; -EFBIG for a hole past the budget). */
int layer_reader_read_data(struct layer_reader *r, const void **buf, size_t *size, int64_t *offset);
/* Whatever gives an entry's data in pieces, as layer_reader_read_data()
 * does (a tar entry, kept data, a file of an installed image). */
typedef int data_piece_fn(void *ctx, const void **buf, size_t *size, int64_t *offset);
/* Read the stream to its end, so the producer checks the size and digest
 * even when the tar ends before the blob does. */
int layer_reader_finish(struct layer_reader *r);
/* Non-blocking: the stream's failure (digest, size, stall) if it is known
 * already, else 0. For callers busy without reading, e.g. writing holes. */
int layer_reader_check(struct layer_reader *r);
uint64_t layer_reader_stream_bytes(const struct layer_reader *r);
void layer_reader_free(struct layer_reader *r);
static inline void layer_reader_freep(struct layer_reader **r)
{
	if (*r)
		layer_reader_free(*r);
}
