/* SPDX-License-Identifier: Apache-2.0 */
/* The options every verb that pulls an image shares (pull, upgrade):
 * where from, for which platform, with which credentials and trust, how to
 * compress, how to show progress. One parser, one help text. */
#pragma once

#include <getopt.h>

#include "build_image.h"
#include "install_image.h"
#include "node_policy.h"
#include "pull.h"

struct source_args {
	const char *source;
	const char *compression;
	unsigned threads;        /* --threads; 0: every online core */
	const char *prescan;     /* --prescan: auto, always, never; NULL: auto */
	const char *policy_file; /* --policy */
	struct policy *policy;   /* loaded by source_args_load_policy(), in pull.policy */
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
	SOURCE_ARG_POLICY,
	SOURCE_ARG_THREADS,
	SOURCE_ARG_PRESCAN,
	SOURCE_ARG_REQUIRE_ROOT_HASH,
	SOURCE_ARG_LAST, /* a verb numbers its own options from here */
};

#define SOURCE_LONG_OPTIONS                                                                                       \
	{ "source", required_argument, NULL, 's' }, { "platform", required_argument, NULL, SOURCE_ARG_PLATFORM }, \
		{ "creds", required_argument, NULL, SOURCE_ARG_CREDS },                                           \
		{ "insecure", no_argument, NULL, SOURCE_ARG_INSECURE },                                           \
		{ "ca-file", required_argument, NULL, SOURCE_ARG_CA_FILE },                                       \
		{ "progress", required_argument, NULL, SOURCE_ARG_PROGRESS },                                     \
		{ "compression", required_argument, NULL, SOURCE_ARG_COMPRESSION },                               \
		{ "policy", required_argument, NULL, SOURCE_ARG_POLICY },                                         \
		{ "threads", required_argument, NULL, SOURCE_ARG_THREADS },                                       \
		{ "prescan", required_argument, NULL, SOURCE_ARG_PRESCAN },                                       \
		{ "require-signed-root-hash", no_argument, NULL, SOURCE_ARG_REQUIRE_ROOT_HASH },                  \
	{                                                                                                         \
		"stall-timeout", required_argument, NULL, SOURCE_ARG_STALL_TIMEOUT                                \
	}

extern const char source_options_help[];

void source_args_init(struct source_args *a);
/* One option from getopt_long: 1 when it was one of ours, 0 when not, a
 * negative errno for a bad value (logged). */
int source_args_option(int c, const char *arg, struct source_args *a);
/* The signature policy in force (node_policy.h: --policy, then COS_OEM
 * through sd or oem_dir when given, then /etc/containers/policy.json) into
 * a->pull.policy; an error (logged) when it does not parse. Then whether a
 * signed root hash is required: --require-signed-root-hash, else
 * kairos.conf's signed_root_hash on COS_OEM (node_policy_require_root_hash()). */
int source_args_load_policy(struct source_args *a, const struct state_dir *sd, const char *oem_dir);
void source_args_done(struct source_args *a);
/* The builder's options, with --compression, --threads and --prescan applied. */
int source_args_build_options(const struct source_args *a, struct build_options *b);
/* image_install_open() of --source, with the builder's options (upgrade, reset). */
int source_args_install_open(const struct source_args *a, struct image_install *in);
