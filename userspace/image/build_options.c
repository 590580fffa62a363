/* SPDX-License-Identifier: Apache-2.0 */
/* Build options: defaults and the --compression parser. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build_options.h"
#include "log.h"
#include "util.h"

/* Default compressor: zstd level 6. GRUB no longer reads the image (it
 * boots the kernel and initrd written beside it), and the kernel mounts
 * every compressor we write. Chosen from the level curve (`make bench-pull
 * BENCH_CURVE=1` prints it), measured with `pull --compression` on
 * the reference OS v2 (304 MiB of tar; 2 cores, 128 KiB blocks; CPU s,
 * size): zstd:3 2.4 s 118.0 MiB; zstd:6 4.2 s 111.9 MiB; zstd:9 5.7 s
 * 110.9 MiB; zstd:12 14.9 s 110.6 MiB; zstd:15 31.9 s 104.8 MiB; zstd:19
 * 76.9 s 104.3 MiB; xz 54.1 s 96.2 MiB; gzip:1 4.6 s 123.0 MiB. mksquashfs
 * zstd:15 makes 105.2 MiB of the same tree: level 6 is within 1.07x of it
 * (the goal: 1.08x) for 1.7x the CPU of level 3; past 9 each step
 * costs several times the CPU for under 1 %, until 15. The image is built on
 * every node at each upgrade and lives on its disk, beside two others. */
#define DEFAULT_ZSTD_LEVEL 6
#define DEFAULT_GZIP_LEVEL 1

void build_options_init(struct build_options *opts)
{
	*opts = (struct build_options){
		.compressor = BUILD_COMPRESSOR_ZSTD,
		.level = DEFAULT_ZSTD_LEVEL,
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

void build_options_require_bootable(struct build_options *opts)
{
	opts->require_boot = true;
}
