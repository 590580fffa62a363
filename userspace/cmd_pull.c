/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade pull --source oci:REF|oci-layout:DIR[:TAG] --output FILE:
 * resolve the image, stream and verify its layers, and build the squashfs
 * image from them without staging anything on disk. */
#include "cmd_pull.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build_image.h"
#include "log.h"
#include "oci_layout.h"
#include "progress.h"
#include "pull_source.h"
#include "reference.h"
#include "registry.h"
#include "util.h"

struct pull_args {
	const char *source;
	const char *output;
	const char *platform;
	const char *compression;
	enum progress_mode progress;
	struct registry_options registry;
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
			a->platform = optarg;
			break;
		case ARG_CREDS:
			a->registry.creds = optarg;
			break;
		case ARG_INSECURE:
			a->registry.insecure = true;
			break;
		case ARG_CA_FILE:
			a->registry.ca_file = optarg;
			break;
		case ARG_PROGRESS:
			if (progress_mode_from_string(optarg, &a->progress) < 0)
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

/* What pull_source reads from, and how to let it go. */
struct opened_store {
	struct manifest_store store;
	struct registry *registry;
	bool layout;
	char *object;
	char *display;
	struct image_reference ref;
};

static void opened_store_done(struct opened_store *s)
{
	if (s->layout)
		oci_layout_close(&s->store);
	registry_free(s->registry);
	reference_done(&s->ref);
	free(s->object);
	free(s->display);
}

static int open_store(const struct pull_args *a, struct opened_store *s)
{
	if (strncmp(a->source, "oci-layout:", 11) == 0) {
		int r = oci_layout_open(a->source + 11, &s->store, &s->object);
		if (r < 0)
			return r;
		s->layout = true;
		s->display = strdup(a->source);
		return s->display ? 0 : -ENOMEM;
	}
	if (strncmp(a->source, "oci:", 4) != 0)
		return log_error_errno(-EINVAL, "Unknown source '%s': use oci:REF or oci-layout:DIR[:TAG]", a->source);

	int r = reference_parse(a->source + 4, &s->ref);
	if (r == -EINVAL)
		return log_error_errno(r, "Invalid image reference '%s': expected [HOST[:PORT]/]PATH[:TAG][@sha256:HEX] "
					  "in lowercase",
				       a->source + 4);
	if (r < 0)
		return r;
	r = registry_open(&s->ref, &a->registry, &s->registry);
	if (r < 0)
		return r;
	registry_manifest_store(s->registry, &s->store);
	s->object = strdup(reference_object(&s->ref));
	if (asprintf(&s->display, "%s/%s%s%s", s->ref.registry, s->ref.repository, s->ref.digest ? "@" : ":",
		     reference_object(&s->ref)) < 0)
		s->display = NULL;
	return s->object && s->display ? 0 : -ENOMEM;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pull(const struct pull_args *a)
{
	struct build_options build;
	build_options_init(&build);
	if (a->compression) {
		int r = build_options_parse_compression(&build, a->compression);
		if (r < 0)
			return r;
	}
	struct platform platform = {};
	int r = a->platform ? platform_parse(a->platform, &platform) : platform_native(&platform);
	if (r < 0)
		return log_error_errno(r, a->platform ? "--platform wants OS/ARCH[/VARIANT], e.g. linux/arm64/v8"
						      : "Cannot tell this machine's platform: %m");

	double start = now_seconds();
	struct opened_store s = {};
	struct image_source *src = NULL;
	struct progress *progress = progress_new(a->progress);
	char digest[DIGEST_STRING_MAX] = "";
	r = progress ? open_store(a, &s) : -ENOMEM;
	if (r >= 0)
		r = pull_source_new(&s.store, s.object, &platform, a->platform != NULL, progress, &src, digest);
	if (r >= 0) {
		uint64_t total = 0;
		for (size_t i = 0; i < src->n_layers; i++)
			total += src->layer_size(src, i);
		progress_begin(progress, s.display, digest, src->n_layers, total);

		struct build_stats stats = {};
		r = build_image_squashfs(src, a->output, &build, &stats);
		progress_end(progress, r);
		if (r >= 0)
			log_info("Pulled %s (%s): %zu layers, %.1f MiB fetched, %.1f MiB image %s, in %.1f s", s.display,
				 digest, src->n_layers, (double)total / 1048576.0,
				 (double)stats.output_bytes / 1048576.0, a->output, now_seconds() - start);
		else if (r == -ENOSPC)
			log_error("Pull of %s stopped: the disk holding %s is full; the partial image was removed. "
				  "Free some space and try again",
				  s.display, a->output);
		else
			log_error("Pull of %s failed; %s was not written", s.display, a->output);
	} else
		progress_end(progress, r); /* JSON readers get a verdict either way */
	pull_source_free(src);
	opened_store_done(&s);
	progress_free(progress);
	platform_done(&platform);
	return r;
}

int verb_pull(int argc, char **argv)
{
	struct pull_args a = { .progress = PROGRESS_AUTO };
	int r = parse_args(argc, argv, &a);
	if (r <= 0)
		return r;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return log_error_errno(-EIO, "Failed to initialize libcurl");
	r = pull(&a);
	curl_global_cleanup();
	return r;
}
