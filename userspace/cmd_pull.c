/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade pull --source oci:REF|oci-layout:DIR[:TAG] --output FILE:
 * resolve the image, stream and verify its layers, and build the squashfs
 * image from them without staging anything on disk. */
#include "cmd_pull.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build_image.h"
#include "log.h"
#include "pull.h"
#include "util.h"

struct pull_args {
	const char *source;
	const char *output;
	const char *compression;
	struct pull_options pull;
};

static void pull_help(void)
{
	printf("Usage: kairos-upgrade pull --source SOURCE --output FILE.squashfs [OPTIONS]\n"
	       "\n"
	       "Fetch an OS image, verify every byte against its digest, and build a squashfs\n"
	       "image from its layers while they stream in. Nothing is staged on disk; FILE\n"
	       "appears only when complete.\n"
	       "\n"
	       "Sources:\n"
	       "  oci:REF                 a registry image: [HOST[:PORT]/]PATH[:TAG][@sha256:HEX]\n"
	       "                          (short names are Docker Hub: debian -> library/debian)\n"
	       "  oci-layout:DIR[:TAG]    an OCI image layout directory\n"
	       "\n"
	       "Options:\n"
	       "  -s, --source SOURCE     what to pull (required)\n"
	       "  -o, --output FILE       the squashfs image to write (required)\n"
	       "      --platform OS/ARCH[/VARIANT]\n"
	       "                          which image of a multi-platform index (default: this machine)\n"
	       "      --creds USER:PASS   registry credentials (default: $REGISTRY_AUTH_FILE or\n"
	       "                          ~/.docker/config.json, else anonymous)\n"
	       "      --insecure          allow plain HTTP and unverified TLS for this registry\n"
	       "      --ca-file FILE      trust this CA bundle for the registry's TLS\n"
	       "      --compression ALG[:LEVEL]\n"
	       "                          squashfs compression: zstd, xz, gzip, lz4 (default zstd)\n"
	       "      --progress=MODE     auto (a line on terminals), none, tty, json (JSON lines on stdout)\n"
	       "  -h, --help              show this help\n");
}

static int parse_args(int argc, char **argv, struct pull_args *a)
{
	enum { ARG_PLATFORM = 0x100, ARG_CREDS, ARG_INSECURE, ARG_CA_FILE, ARG_PROGRESS, ARG_COMPRESSION };
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "source", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "platform", required_argument, NULL, ARG_PLATFORM },
		{ "creds", required_argument, NULL, ARG_CREDS },
		{ "insecure", no_argument, NULL, ARG_INSECURE },
		{ "ca-file", required_argument, NULL, ARG_CA_FILE },
		{ "progress", required_argument, NULL, ARG_PROGRESS },
		{ "compression", required_argument, NULL, ARG_COMPRESSION },
		{}
	};
	optind = 0;
	int c;
	while ((c = getopt_long(argc, argv, "hs:o:", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			pull_help();
			return 0;
		case 's':
			a->source = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case ARG_PLATFORM:
			a->pull.platform = optarg;
			break;
		case ARG_CREDS:
			a->pull.registry.creds = optarg;
			break;
		case ARG_INSECURE:
			a->pull.registry.insecure = true;
			break;
		case ARG_CA_FILE:
			a->pull.registry.ca_file = optarg;
			break;
		case ARG_PROGRESS:
			if (progress_mode_from_string(optarg, &a->pull.progress) < 0)
				return log_error_errno(-EINVAL, "--progress wants auto, none, tty or json, not '%s'",
						       optarg);
			break;
		case ARG_COMPRESSION:
			a->compression = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("Unexpected argument '%s' (see pull --help)", argv[optind]);
		return -EINVAL;
	}
	if (!a->source || !a->output) {
		log_error("pull needs --source and --output (see pull --help)");
		return -EINVAL;
	}
	return 1;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int verb_pull(int argc, char **argv)
{
	struct pull_args a = { .pull.progress = PROGRESS_AUTO };
	int r = parse_args(argc, argv, &a);
	if (r <= 0)
		return r;
	struct build_options build;
	build_options_init(&build);
	if (a.compression) {
		r = build_options_parse_compression(&build, a.compression);
		if (r < 0)
			return r;
	}

	double start = now_seconds();
	struct pull *p = NULL;
	r = pull_open(a.source, &a.pull, &p);
	if (r < 0)
		return r;
	struct build_stats stats = {};
	r = pull_build(p, a.output, &build, &stats);
	if (r >= 0)
		log_info("Pulled %s (%s): %zu layers, %.1f MiB fetched, %.1f MiB image %s, in %.1f s", pull_name(p),
			 pull_digest(p), pull_n_layers(p), (double)pull_layer_bytes(p) / 1048576.0,
			 (double)stats.output_bytes / 1048576.0, a.output, now_seconds() - start);
	else if (r == -ENOSPC)
		log_error("Pull of %s stopped: the disk holding %s is full; the partial image was removed. Free "
			  "some space and try again",
			  pull_name(p), a.output);
	else
		log_error("Pull of %s failed; %s was not written", pull_name(p), a.output);
	pull_free(p);
	return r;
}
