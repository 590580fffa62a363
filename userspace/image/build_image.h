/* SPDX-License-Identifier: Apache-2.0 */
/* Turn an image's layers into one squashfs file, streaming: layers are read
 * once through the image_source seam, flattened with OCI semantics into a
 * metadata-only tree, and file data goes straight from the tar stream into
 * the squashfs block processor. Nothing is unpacked on disk. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "build_options.h"
#include "image_source.h"
#include "verity_tree.h"

struct build_stats {
	uint64_t layer_bytes;    /* stored (compressed) layer bytes read, pre-scan excluded */
	uint64_t tar_bytes;      /* regular file data bytes seen in the tar streams */
	uint64_t output_bytes;   /* size of the squashfs image */
	uint64_t entries;        /* inodes in the image */
	uint64_t skipped_bytes;  /* data never written because an upper layer shadows it */
	uint64_t wasted_bytes;   /* data written but shadowed later (pre-scan could not tell) */
	size_t reused_layers;    /* layers replayed from an installed image, not downloaded */
	uint64_t reused_bytes;   /* their stored bytes */
	uint64_t reused_blocks;  /* compressed blocks taken from it as they were */
	const char *reused_from; /* the build_reuse name of that image (the caller's), or NULL */
	bool prescanned;         /* the upper layers' headers were read first (changes the bytes) */
	double seconds;          /* wall time of build_image_squashfs() */
	double verity_seconds;   /* of which the tree (read back and hashed): make bench-verity */
	/* the dm-verity tree appended after the squashfs */
	struct verity_record verity;
};

/* Build output_path from src. The image is written to a ".tmp-" file in the
 * same directory, fsynced and renamed into place only when complete; on any
 * error the temp file is removed and output_path is left untouched.
 * opts may be NULL (defaults); stats may be NULL.
 * Returns 0 or a negative errno: -EBADMSG for a malformed or rejected layer
 * (logged naming the layer digest and the entry), -ENOSPC when the disk is
 * full (logged naming the path and the bytes written), -ENOEXEC when
 * opts->require_boot and the image lacks /boot/vmlinuz or /boot/initrd
 * (logged), -EAGAIN when reusing an installed image (opts->reuse) failed
 * (logged; build again without opts->reuse), others as they come.
 * With opts->index_path, the image's layer index is written there once the
 * image is in place (a failure to write it is only a warning: an image
 * without one is not reused later). */
int build_image_squashfs(struct image_source *src, const char *output_path, const struct build_options *opts,
			 struct build_stats *stats);
/* The bytes src keeps (image_source.keep_layers) beside output_path during
 * that build: the upper layers when they are pre-scanned, else 0. For a
 * caller that checks the free space first. opts may be NULL. */
uint64_t build_image_reread_bytes(struct image_source *src, const struct build_options *opts);
