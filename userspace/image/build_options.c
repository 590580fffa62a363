/* SPDX-License-Identifier: Apache-2.0 */
/* Build options: defaults and the --compression parser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build_options.h"
#include "log.h"
#include "util.h"

/* Default compressor: gzip level 1. GRUB loads the kernel and initrd from
 * inside the image, and GRUB 2.06's squash4 reads gzip, xz and lzo only: a
 * zstd image does not boot (seen in tests/install: "no /boot/vmlinuz").
 * Among what GRUB reads, measured with build-from-tars on a 1.1 GB tar of
 * /usr/lib (2 cores, 128 KiB blocks): gzip:1 5.2 s 355 MiB; gzip:3 7.2 s
 * 339 MiB; gzip:6 14.9 s 318 MiB; gzip:9 75.5 s 315 MiB; xz 92.9 s 248 MiB
 * (zstd:3, for comparison, 2.8 s 324 MiB). Past level 1 each step costs far
 * more CPU than the few percent it saves; the image is built on the node and
 * only lives on its disk. zstd (default level 3, the knee of its curve:
 * 1 0.51 s 40.3 MiB, 3 0.60 s 38.5 MiB, 6 1.48 s 35.4 MiB, 15 16.9 s
 * 32.7 MiB on a 202 MiB tree) stays available for images GRUB does not boot,
 * e.g. with `pull` for other uses. */
#define DEFAULT_GZIP_LEVEL 1
#define DEFAULT_ZSTD_LEVEL 3

void build_options_init(struct build_options *opts)
{
	*opts = (struct build_options){
		.compressor = BUILD_COMPRESSOR_GZIP,
		.level = DEFAULT_GZIP_LEVEL,
		.block_size = BUILD_BLOCK_SIZE_DEFAULT,
		.prescan_limit = BUILD_PRESCAN_LIMIT_DEFAULT,
	};
}

int build_options_parse_compression(struct build_options *opts, const char *spec)
{
	static const struct {
		const char *name;
		enum build_compressor c;
		int default_level; /* 0: the library's */
	} table[] = {
		{ "zstd", BUILD_COMPRESSOR_ZSTD, DEFAULT_ZSTD_LEVEL },
		{ "xz", BUILD_COMPRESSOR_XZ, 0 },
		{ "gzip", BUILD_COMPRESSOR_GZIP, DEFAULT_GZIP_LEVEL },
		{ "lz4", BUILD_COMPRESSOR_LZ4, 0 },
	};
	const char *colon = strchr(spec, ':');
	size_t len = colon ? (size_t) (colon - spec) : strlen(spec);

	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		if (strlen(table[i].name) != len || strncmp(spec, table[i].name, len) != 0)
			continue;
		int level = table[i].default_level;
		if (colon) {
			char *end;
			errno = 0;
			long l = strtol(colon + 1, &end, 10);
			long max = table[i].c == BUILD_COMPRESSOR_GZIP ? 9 : 22;
			if (errno || end == colon + 1 || *end || l < 1 || l > max || table[i].c == BUILD_COMPRESSOR_LZ4)
				return log_error_errno(-EINVAL, "Invalid compression level in '%s'", spec);
			level = (int) l;
		}
		opts->compressor = table[i].c;
		opts->level = level;
		return 0;
	}
	return log_error_errno(-EINVAL, "Unknown compression '%s' (zstd[:LEVEL], xz, gzip[:LEVEL], lz4)", spec);
}

int build_options_require_bootable(struct build_options *opts, const char *compression)
{
	if (!build_options_grub_bootable(opts))
		return log_error_errno(-EINVAL,
				       "--compression %s would make an image GRUB cannot boot from "
				       "(GRUB 2.06 reads gzip and xz squashfs only); use gzip[:LEVEL] or xz",
				       compression);
	opts->require_boot = true;
	return 0;
}
