/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade pull --source oci:REF|oci-layout:DIR[:TAG]|oci-archive:FILE[:TAG]|
 *   docker-archive:FILE[:REF] --output FILE:
 * resolve the image, stream and verify its layers, and build the squashfs
 * image from them without staging anything on disk. */
#include "cmd_pull.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build_image.h"
#include "image_meta.h"
#include "image_reuse.h"
#include "log.h"
#include "pull.h"
#include "source_args.h"
#include "util.h"

struct pull_args {
	struct source_args src;
	const char *output;
	bool bootable;
	const char *index, *reuse, *reuse_index;
};

enum { PULL_ARG_BOOTABLE = 0x300, PULL_ARG_INDEX, PULL_ARG_REUSE, PULL_ARG_REUSE_INDEX };

static void pull_help(void)
{
	printf("Usage: kairos-upgrade pull --source SOURCE --output FILE.squashfs [OPTIONS]\n"
	       "\n"
	       "Fetch an OS image, verify every byte against its digest, and build a squashfs\n"
	       "image from its layers while they stream in. Nothing is staged on disk; FILE\n"
	       "appears only when complete, with FILE.json beside it (source, digest, size,\n"
	       "created, version: what kairos-install --image FILE reads; FILE.json for\n"
	       "FILE.squashfs).\n"
	       "\n"
	       "Options:\n"
	       "%s"
	       "  -o, --output FILE       the squashfs image to write (required)\n"
	       "      --bootable          refuse an image a node cannot boot: one without\n"
	       "                          /boot/vmlinuz and /boot/initrd (kairos-install and\n"
	       "                          kairos-build-iso pass it)\n"
	       "      --index FILE        also write the image's layer index (its layers'\n"
	       "                          entries, for a later --reuse of this image)\n"
	       "      --reuse IMAGE       when the new image's layers begin with all of\n"
	       "                          IMAGE's, take those from IMAGE instead of\n"
	       "                          downloading them (needs --reuse-index); the result\n"
	       "                          is byte-identical to a pull of all the layers\n"
	       "      --reuse-index FILE  IMAGE's layer index (written by --index)\n"
	       "  -h, --help              show this help\n",
	       source_options_help);
}

static int parse_args(int argc, char **argv, struct pull_args *a)
{
	static const struct option options[] = { SOURCE_LONG_OPTIONS,
						 { "output", required_argument, NULL, 'o' },
						 { "bootable", no_argument, NULL, PULL_ARG_BOOTABLE },
						 { "index", required_argument, NULL, PULL_ARG_INDEX },
						 { "reuse", required_argument, NULL, PULL_ARG_REUSE },
						 { "reuse-index", required_argument, NULL, PULL_ARG_REUSE_INDEX },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	optind = 0;
	int c, r;
	while ((c = getopt_long(argc, argv, "hs:o:", options, NULL)) >= 0) {
		if ((r = source_args_option(c, optarg, &a->src)) != 0) {
			if (r < 0)
				return r;
			continue;
		}
		switch (c) {
		case 'h':
			pull_help();
			return 0;
		case 'o':
			a->output = optarg;
			break;
		case PULL_ARG_BOOTABLE:
			a->bootable = true;
			break;
		case PULL_ARG_INDEX:
			a->index = optarg;
			break;
		case PULL_ARG_REUSE:
			a->reuse = optarg;
			break;
		case PULL_ARG_REUSE_INDEX:
			a->reuse_index = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "Unexpected argument '%s' (see pull --help)", argv[optind]);
	if (!a->src.source || !a->output)
		return log_error_errno(-EINVAL, "pull needs --source and --output (see pull --help)");
	if (!a->reuse != !a->reuse_index)
		return log_error_errno(-EINVAL, "--reuse and --reuse-index go together (see pull --help)");
	return 1;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* FILE.json beside FILE.squashfs (FILE.img.json beside FILE.img): what the
 * image is, for kairos-install --image, which names the image by it. */
static int write_meta_beside(const struct pull *p, const char *source, uint64_t size, const char *output)
{
	_cleanup_free_ char *path = image_meta_path_beside(output);
	if (!path)
		return -ENOMEM;
	struct image_meta meta = image_meta_from_pull(p, source);
	meta.size = size;
	int r = image_meta_set_layers(&meta, p);
	if (r == 0)
		r = image_meta_write(path, &meta);
	image_meta_free_layers(&meta);
	return r;
}

static void pull_args_done(struct pull_args *a)
{
	source_args_done(&a->src);
}

int verb_pull(int argc, char **argv)
{
	_cleanup_(pull_args_done) struct pull_args a = { 0 };
	source_args_init(&a.src);
	int r = parse_args(argc, argv, &a);
	if (r <= 0)
		return r;
	struct build_options build;
	r = source_args_build_options(&a.src, &build);
	if (a.bootable)
		build_options_require_bootable(&build);
	if (r < 0)
		return r;
	struct build_reuse reuse = { .image = a.reuse, .index = a.reuse_index, .name = a.reuse };
	build.index_path = a.index;
	if (a.reuse) {
		build.reuse = &reuse;
		build.n_reuse = 1;
	}

	/* A build host: no COS_OEM to look at. */
	r = source_args_load_policy(&a.src, NULL, NULL);
	if (r < 0)
		return r;
	double start = now_seconds();
	struct pull *p = NULL;
	r = pull_open(a.src.source, &a.src.pull, &p);
	if (r < 0)
		return r;
	struct build_stats stats = {};
	r = pull_build(p, a.output, &build, &stats);
	/* Without its .json the image cannot be installed: both, or neither. */
	if (r >= 0 && (r = write_meta_beside(p, a.src.source, stats.output_bytes, a.output)) < 0)
		(void) unlink(a.output);
	if (r >= 0)
		log_info("Pulled %s (%s): %zu layers (%zu reused), %.1f MiB fetched, %.1f MiB image %s, in %.1f s",
			 pull_name(p), pull_digest(p), pull_n_layers(p), stats.reused_layers,
			 (double) pull_bytes_received(p) / 1048576.0, (double) stats.output_bytes / 1048576.0, a.output,
			 now_seconds() - start);
	else if (r == -ENOSPC)
		log_error("Pull of %s stopped: the disk holding %s is full; the partial image was removed. Free "
			  "some space and try again",
			  pull_name(p), a.output);
	else
		log_error("Pull of %s failed; %s was not written", pull_name(p), a.output);
	pull_free(p);
	return r;
}
