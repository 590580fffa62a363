/* SPDX-License-Identifier: Apache-2.0 */
/* Turn an image's layers into one squashfs file, streaming: layers are read
 * once through the image_source seam, flattened with OCI semantics into a
 * metadata-only tree, and file data goes straight from the tar stream into
 * the squashfs block processor. Nothing is unpacked on disk. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "image_source.h"

enum build_compressor {
	BUILD_COMPRESSOR_ZSTD,
	BUILD_COMPRESSOR_XZ,
	BUILD_COMPRESSOR_GZIP,
	BUILD_COMPRESSOR_LZ4,
};

struct build_options {
	enum build_compressor compressor;
	int level;              /* 0: our default for the compressor (see build_image.c) */
	unsigned threads;       /* block processor workers; 0: all online cores */
	uint32_t block_size;    /* 0: 128 KiB */
	uint64_t prescan_limit; /* pre-scan upper layers for whiteouts when their total
	                         * stored size is at most this; 0: default, UINT64_MAX: always */
	bool no_prescan;        /* never pre-scan (tests, benchmarks) */
	uint64_t max_entries;   /* names the image may hold; 0: FLATTEN_ENTRIES_MAX (tests) */
	bool require_boot;      /* refuse an image without a kernel and an initrd where GRUB
	                         * loads them (upgrade, reset): -ENOEXEC, nothing renamed */
};

struct build_stats {
	uint64_t layer_bytes;  /* stored (compressed) layer bytes read, pre-scan excluded */
	uint64_t tar_bytes;    /* regular file data bytes seen in the tar streams */
	uint64_t output_bytes; /* size of the squashfs image */
	uint64_t entries;      /* inodes in the image */
	uint64_t skipped_bytes;/* data never written because an upper layer shadows it */
	uint64_t wasted_bytes; /* data written but shadowed later (pre-scan could not tell) */
	double seconds;        /* wall time of build_image_squashfs() */
};

/* Defaults: gzip level 1 (GRUB-bootable, see build_image.c), all cores, 128 KiB blocks. */
void build_options_init(struct build_options *opts);

/* Parse "zstd[:LEVEL]", "xz", "gzip[:LEVEL]" or "lz4" into opts.
 * Returns 0 or -EINVAL (logged). */
int build_options_parse_compression(struct build_options *opts, const char *spec);
/* GRUB 2.06 boots the kernel from inside the image: only gzip and xz work. */
static inline bool build_options_grub_bootable(const struct build_options *opts)
{
	return opts->compressor == BUILD_COMPRESSOR_GZIP || opts->compressor == BUILD_COMPRESSOR_XZ;
}

/* Build output_path from src. The image is written to a ".tmp-" file in the
 * same directory, fsynced and renamed into place only when complete; on any
 * error the temp file is removed and output_path is left untouched.
 * opts may be NULL (defaults); stats may be NULL.
 * Returns 0 or a negative errno: -EBADMSG for a malformed or rejected layer
 * (logged naming the layer digest and the entry), -ENOSPC when the disk is
 * full (logged naming the path and the bytes written), -ENOEXEC when
 * opts->require_boot and the image lacks /boot/vmlinuz or /boot/initrd
 * (logged), others as they come. */
int build_image_squashfs(struct image_source *src, const char *output_path,
                         const struct build_options *opts, struct build_stats *stats);
