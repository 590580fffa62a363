/* SPDX-License-Identifier: Apache-2.0 */
/* Turns a producer that pushes a blob's bytes (libcurl's callbacks, a file
 * reader) into a layer_stream the builder pulls from. The producer runs in
 * a thread of its own and fills a bounded buffer, so downloading and
 * hashing overlap with decompression while memory stays fixed. */
#pragma once

#include "image_source.h"
#include "manifest.h"
#include "blob_sink.h"

/* Pushes the blob of d into sink and returns 0 only once all of it was
 * delivered and verified. */
typedef int (*blob_producer_t)(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx);

/* d is copied. The stream's final read returns 0 only if the producer
 * returned 0, else the producer's error. */
int blob_stream_new(const struct descriptor *d, blob_producer_t produce, void *ctx, struct layer_stream **ret);
