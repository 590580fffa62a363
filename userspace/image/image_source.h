/* SPDX-License-Identifier: Apache-2.0 */
/* The seam between where an image comes from (a registry, an OCI layout on
 * disk, plain files in tests) and what turns its layers into a squashfs
 * image (the flattener and writer). Producers verify; the builder trusts
 * nothing it has not been handed through a stream that verified it. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One layer blob as a stream of its stored (usually compressed) bytes. */
struct layer_stream {
	const char *digest;     /* "sha256:<64 hex>" from the manifest */
	const char *media_type; /* ...tar, ...tar+gzip, ...tar+zstd (OCI or Docker names) */
	uint64_t size;          /* descriptor size: the stream never yields more */
	/* Returns bytes read (> 0), 0 at the end once the whole blob has been read
	 * and its digest matched, or a negative errno: -EBADMSG when the digest
	 * or the size does not match the descriptor (logged by the producer,
	 * naming the digest), anything else for I/O and network failures. */
	ssize_t (*read)(struct layer_stream *ls, void *buf, size_t size);
	void (*close)(struct layer_stream *ls);
	void *userdata;
};

struct layer_walk;

/* An image: its layers in application order (bottom first). */
struct image_source {
	size_t n_layers;
	/* Open layer i (0 = bottom). A layer may be opened more than once (the
	 * builder may pre-scan the small upper layers for whiteouts). */
	int (*open_layer)(struct image_source *src, size_t index, struct layer_stream **out);
	const char *(*layer_digest)(struct image_source *src, size_t index);
	uint64_t (*layer_size)(struct image_source *src, size_t index);
	/* Optional: layers first..n_layers-1 are about to be read once and
	 * then again; a source whose reads cost a download keeps them so the
	 * second read does not: 1 when it does, 0 when reading again is cheap,
	 * or a negative errno, logged: the build stops. NULL: reads are cheap. */
	int (*keep_layers)(struct image_source *src, size_t first);
	/* Optional: hand layer index's entries to w directly instead of
	 * through its stream (a layer of an installed image, replayed from
	 * that image's layer index and data: image_reuse.h). NULL: every
	 * layer is read through open_layer. */
	int (*walk_layer)(struct image_source *src, size_t index, struct layer_walk *w);
	/* Layers 0..replayed_layers-1 come from an installed image: never
	 * downloaded, read again at no cost. */
	size_t replayed_layers;
	void *userdata;
};
