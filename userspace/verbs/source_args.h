/* SPDX-License-Identifier: Apache-2.0 */
/* The options every verb that pulls an image shares (pull, upgrade):
 * where from, for which platform, with which credentials and trust, how to
 * compress, how to show progress. One parser, one help text. */
#pragma once

#include <getopt.h>

#include "build_image.h"
#include "install_image.h"
#include "pull.h"

struct source_args {
	const char *source;
	const char *compression;
	struct pull_options pull;
};

enum {
	SOURCE_ARG_PLATFORM = 0x100,
	SOURCE_ARG_CREDS,
	SOURCE_ARG_INSECURE,
	SOURCE_ARG_CA_FILE,
	SOURCE_ARG_PROGRESS,
	SOURCE_ARG_COMPRESSION,
	SOURCE_ARG_STALL_TIMEOUT,
	SOURCE_ARG_LAST, /* a verb numbers its own options from here */
};

#define SOURCE_LONG_OPTIONS                                                                                       \
	{ "source", required_argument, NULL, 's' }, { "platform", required_argument, NULL, SOURCE_ARG_PLATFORM }, \
		{ "creds", required_argument, NULL, SOURCE_ARG_CREDS },                                           \
		{ "insecure", no_argument, NULL, SOURCE_ARG_INSECURE },                                           \
		{ "ca-file", required_argument, NULL, SOURCE_ARG_CA_FILE },                                       \
		{ "progress", required_argument, NULL, SOURCE_ARG_PROGRESS },                                     \
		{ "compression", required_argument, NULL, SOURCE_ARG_COMPRESSION },                               \
	{                                                                                                         \
		"stall-timeout", required_argument, NULL, SOURCE_ARG_STALL_TIMEOUT                                \
	}

extern const char source_options_help[];

void source_args_init(struct source_args *a);
/* One option from getopt_long: 1 when it was one of ours, 0 when not, a
 * negative errno for a bad value (logged). */
int source_args_option(int c, const char *arg, struct source_args *a);
/* The builder's options, with --compression applied. */
int source_args_build_options(const struct source_args *a, struct build_options *b);
/* image_install_open() of --source, with the builder's options (upgrade, reset). */
int source_args_install_open(const struct source_args *a, struct image_install *in);
