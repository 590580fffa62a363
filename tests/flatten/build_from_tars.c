/* SPDX-License-Identifier: Apache-2.0 */
/* build-from-tars --output X [--compression C] [--threads N] [--no-prescan]
 *                 --layer A.tar.gz --layer B.tar ...
 * Builds a squashfs image from local layer files (bottom first) through the
 * same build_image_squashfs() that `pull` uses. For tests and benchmarks. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "build_image.h"
#include "file_source.h"
#include "image_reuse.h"
#include "log.h"
#include "util.h"

int main(int argc, char **argv)
{
	static const struct option options[] = { { "output", required_argument, NULL, 'o' },
						 { "layer", required_argument, NULL, 'l' },
						 { "compression", required_argument, NULL, 'c' },
						 { "threads", required_argument, NULL, 't' },
						 { "no-prescan", no_argument, NULL, 'n' },
						 { "stats", no_argument, NULL, 's' },
						 { "index", required_argument, NULL, 'i' },
						 { "reuse", required_argument, NULL, 'r' },
						 { "reuse-index", required_argument, NULL, 'R' },
						 { "prescan-limit", required_argument, NULL, 'p' },
						 {} };
	struct build_reuse reuse = {};
	struct build_options opts;
	struct build_stats stats;
	struct image_source *src;
	_cleanup_free_ char **layers = calloc((size_t) argc, sizeof(char *));
	const char *output = NULL;
	size_t n_layers = 0;
	bool print_stats = false;
	int c, r;

	log_set_program("build-from-tars");
	build_options_init(&opts);
	if (!layers)
		return EXIT_FAILURE;
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'l':
			layers[n_layers++] = optarg;
			break;
		case 'c':
			if (build_options_parse_compression(&opts, optarg) < 0)
				return EXIT_FAILURE;
			break;
		case 't':
			opts.threads = (unsigned) atoi(optarg);
			break;
		case 'n':
			opts.no_prescan = true;
			break;
		case 's':
			print_stats = true;
			break;
		case 'i':
			opts.index_path = optarg;
			break;
		case 'r':
			reuse.image = reuse.name = optarg;
			opts.reuse = &reuse;
			opts.n_reuse = 1;
			break;
		case 'R':
			reuse.index = optarg;
			break;
		case 'p':
			opts.prescan_limit = strtoull(optarg, NULL, 10);
			break;
		default:
			return EXIT_FAILURE;
		}
	}
	if (!output || n_layers == 0 || !reuse.image != !reuse.index) {
		log_error("Usage: build-from-tars --output FILE --layer TAR [--layer TAR...]");
		return EXIT_FAILURE;
	}
	r = file_source_new(layers, n_layers, &src);
	if (r < 0)
		return EXIT_FAILURE;
	r = build_image_squashfs(src, output, &opts, &stats);
	file_source_free(src);
	if (r < 0)
		return EXIT_FAILURE;
	if (print_stats) {
		char root[2 * VERITY_DIGEST_SIZE + 1], salt[2 * VERITY_SALT_MAX + 1];
		verity_hex(stats.verity.root_hash, sizeof(stats.verity.root_hash), root);
		verity_hex(stats.verity.salt, stats.verity.salt_size, salt);
		printf("layer_bytes=%" PRIu64 " tar_bytes=%" PRIu64 " output_bytes=%" PRIu64 " entries=%" PRIu64
		       " skipped_bytes=%" PRIu64 " wasted_bytes=%" PRIu64 " reused_layers=%zu reused_blocks=%" PRIu64
		       " seconds=%.3f verity_seconds=%.3f verity_root=%s verity_salt=%s hash_offset=%" PRIu64
		       " data_blocks=%" PRIu64 "\n",
		       stats.layer_bytes, stats.tar_bytes, stats.output_bytes, stats.entries, stats.skipped_bytes,
		       stats.wasted_bytes, stats.reused_layers, stats.reused_blocks, stats.seconds,
		       stats.verity_seconds, root, salt, stats.verity.hash_offset, stats.verity.data_blocks);
	}
	return EXIT_SUCCESS;
}
