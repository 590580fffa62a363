/* SPDX-License-Identifier: Apache-2.0 */
/* How an image is built: compressor, level, threads, block size, limits.
 * Its own header so the writer and the callers need not see the builder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUILD_BLOCK_SIZE_DEFAULT (128 * 1024)
/* Pre-scan the upper layers when they are small enough that reading their
 * headers is cheap next to compressing the data they would hide. */
#define BUILD_PRESCAN_LIMIT_DEFAULT (64ull * 1024 * 1024)

struct build_reuse;

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
	uint64_t spill_max;     /* small files set aside, charged by size (sqfs_writer.c);
	                         * 0: SPILL_MAX (tests set less) */
	bool require_boot;      /* refuse an image without a kernel and an initrd (upgrade,
	                         * reset; they are written beside it): -ENOEXEC, nothing renamed */
	const char *index_path; /* write the image's layer index there (layer_index.h); NULL: none */
	/* Installed images the build may start from (image_reuse.h): the one
	 * whose layers begin the new image's, if any. */
	const struct build_reuse *reuse;
	size_t n_reuse;
	/* Told once the build reuses an installed image's first layers (for
	 * progress): how many, their stored bytes, the candidate's name. */
	void (*on_reuse)(void *userdata, size_t layers, uint64_t bytes, const char *from);
	void *on_reuse_userdata;
};

/* Defaults: zstd level 6 (see build_options.c), all cores, 128 KiB blocks. */
void build_options_init(struct build_options *opts);

/* Parse "zstd[:LEVEL]", "xz", "gzip[:LEVEL]" or "lz4" into opts.
 * Returns 0 or -EINVAL (logged). */
int build_options_parse_compression(struct build_options *opts, const char *spec);
/* An image a node boots (upgrade, reset, kairos-install, build-iso): the
 * build refuses one without a kernel and an initrd (require_boot). Any
 * compressor boots: GRUB loads the kernel and initrd written beside the
 * image, and the kernel mounts gzip, xz, zstd and lz4. */
void build_options_require_bootable(struct build_options *opts);
