/* SPDX-License-Identifier: Apache-2.0 */
/* What a verifier needs to build an image's exact bytes again from the same
 * OCI image (docs/DESIGN.md, "Deterministic images"): the settings, whether
 * the upper layers were pre-scanned, and the libraries that produced the
 * compressed bytes. Written into the image's .json as "build". */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "build_image.h"

/* The writer's output format: bumped by every change to the builder that
 * changes the bytes it writes for the same input and settings. */
#define BUILD_FORMAT 1

struct build_record {
	unsigned format;        /* BUILD_FORMAT */
	const char *compressor; /* "zstd", "xz", "gzip", "lz4" */
	unsigned level;         /* the level in effect (the library's default resolved) */
	uint32_t block_size;
	bool prescan;                /* the upper layers were pre-scanned (depends on the manifest's layer sizes) */
	char libsquashfs[64];        /* the loaded library's file name: "libsquashfs.so.1.4.0" */
	char libarchive[32];         /* "3.6.2": parses the layers' tars */
	const char *compressor_lib;  /* "libzstd", "liblzma", "zlib", "liblz4" */
	char compressor_version[32]; /* what that library says: "1.5.4"; "unknown" */
};

/* The record of a build with opts (NULL: defaults) and stats (for the
 * pre-scan). 0, or -EINVAL (logged) for options no build accepts. */
int build_record_init(struct build_record *rec, const struct build_options *opts, const struct build_stats *stats);

/* The record as one line, what `sign --verity` signs beside the root hash
 * and what a node's refusal compares: "zstd:6 128K prescan format=1
 * libsquashfs.so.1.4.0 libzstd-1.5.4 libarchive-3.6.2" (the block size in
 * K when a multiple of 1024; "no-prescan"; library strings with anything
 * not printable ASCII or a blank as '?'). Always NUL-terminated, at most
 * BUILD_RECORD_STRING_MAX - 1 chars. */
#define BUILD_RECORD_STRING_MAX 256u
void build_record_string(const struct build_record *rec, char buf[static BUILD_RECORD_STRING_MAX]);
