/* SPDX-License-Identifier: Apache-2.0 */
#include "source_args.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "util.h"

const char source_options_help[] =
	"  -s, --source SOURCE     oci:REF, a registry image: [HOST[:PORT]/]PATH[:TAG][@sha256:HEX]\n"
	"                          (short names are Docker Hub: debian -> library/debian),\n"
	"                          oci-layout:DIR[:TAG], an OCI image layout directory,\n"
	"                          oci-archive:FILE[:TAG], a tar of one (buildah push IMG oci-archive:FILE),\n"
	"                          or docker-archive:FILE[:REF], what docker save writes (FILE - is stdin)\n"
	"      --platform OS/ARCH[/VARIANT]\n"
	"                          which image of a multi-platform index (default: this machine)\n"
	"      --creds USER:PASS   registry credentials (default: $REGISTRY_AUTH_FILE or\n"
	"                          ~/.docker/config.json, else anonymous)\n"
	"      --insecure          allow plain HTTP and unverified TLS for this registry\n"
	"      --ca-file FILE      trust this CA bundle for the registry's TLS\n"
	"      --compression ALG[:LEVEL]\n"
	"                          squashfs compression: zstd, xz, gzip, lz4 (default zstd:6;\n"
	"                          zstd alone is zstd:6; every one boots)\n"
	"      --threads N         compress on N threads (default: every core); the image's\n"
	"                          bytes are the same whatever N\n"
	"      --prescan=auto|always|never\n"
	"                          read the upper layers' headers first, so that files they\n"
	"                          hide are not written (auto: when they hold at most 64 MiB\n"
	"                          as stored). Changes the image's bytes: to rebuild an image\n"
	"                          exactly, give what its .json's build.prescan says\n"
	"      --policy FILE       the signature policy (containers-policy.json) instead of\n"
	"                          policy.json on COS_OEM or /etc/containers/policy.json;\n"
	"                          key-based cosign signatures only: no Fulcio, no Rekor\n"
	"      --require-signed-root-hash\n"
	"                          refuse an image unless an accepted signature carries the\n"
	"                          dm-verity root hash of the image built here (sign --verity);\n"
	"                          also kairos.conf signed_root_hash=required on COS_OEM.\n"
	"                          Without it a signed root hash still binds: a mismatch is\n"
	"                          refused after the build, before anything is committed\n"
	"      --progress=MODE     auto (a line on terminals), none, tty, json (JSON lines on stdout)\n"
	"      --stall-timeout SECONDS\n"
	"                          give up on a transfer slower than 1 KiB/s for this long\n"
	"                          (default 30; each request is tried up to 5 times)\n";

void source_args_init(struct source_args *a)
{
	*a = (struct source_args){ .pull.progress = PROGRESS_AUTO };
}

/* A decimal number from 1 to max, nothing around it. */
static int parse_count(const char *arg, unsigned long max, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || n < 1 || n > max)
		return -EINVAL;
	*ret = (unsigned) n;
	return 0;
}

int source_args_option(int c, const char *arg, struct source_args *a)
{
	switch (c) {
	case 's':
		a->source = arg;
		return 1;
	case SOURCE_ARG_PLATFORM:
		a->pull.platform = arg;
		return 1;
	case SOURCE_ARG_CREDS:
		a->pull.registry.creds = arg;
		return 1;
	case SOURCE_ARG_INSECURE:
		a->pull.registry.insecure = true;
		return 1;
	case SOURCE_ARG_CA_FILE:
		a->pull.registry.ca_file = arg;
		return 1;
	case SOURCE_ARG_PROGRESS:
		if (progress_mode_from_string(arg, &a->pull.progress) < 0)
			return log_error_errno(-EINVAL, "--progress wants auto, none, tty or json, not '%s'", arg);
		return 1;
	case SOURCE_ARG_POLICY:
		a->policy_file = arg;
		return 1;
	case SOURCE_ARG_COMPRESSION:
		a->compression = arg;
		return 1;
	case SOURCE_ARG_THREADS:
		if (parse_count(arg, 256, &a->threads) < 0)
			return log_error_errno(-EINVAL, "--threads wants a number from 1 to 256, not '%s'", arg);
		return 1;
	case SOURCE_ARG_PRESCAN:
		if (!streq(arg, "auto") && !streq(arg, "always") && !streq(arg, "never"))
			return log_error_errno(-EINVAL, "--prescan wants auto, always or never, not '%s'", arg);
		a->prescan = arg;
		return 1;
	case SOURCE_ARG_REQUIRE_ROOT_HASH:
		a->pull.require_signed_root_hash = true;
		return 1;
	case SOURCE_ARG_STALL_TIMEOUT:
		if (parse_count(arg, 3600, &a->pull.registry.stall_seconds) < 0)
			return log_error_errno(-EINVAL, "--stall-timeout wants seconds from 1 to 3600, not '%s'", arg);
		return 1;
	default:
		return 0;
	}
}

int source_args_load_policy(struct source_args *a, const struct state_dir *sd, const char *oem_dir)
{
	a->policy = policy_free(a->policy);
	const struct node_policy_options o = { .file = a->policy_file, .sd = sd, .oem_dir = oem_dir };
	int r = node_policy_load(&o, &a->policy);
	a->pull.policy = a->policy;
	bool require = false;
	if (r >= 0 && !a->pull.require_signed_root_hash && (r = node_policy_require_root_hash(&o, &require)) >= 0)
		a->pull.require_signed_root_hash = require;
	return r;
}

void source_args_done(struct source_args *a)
{
	a->policy = policy_free(a->policy);
	a->pull.policy = NULL;
}

int source_args_build_options(const struct source_args *a, struct build_options *b)
{
	build_options_init(b);
	b->threads = a->threads;
	if (a->prescan && streq(a->prescan, "always"))
		b->prescan_limit = UINT64_MAX;
	else if (a->prescan && streq(a->prescan, "never"))
		b->no_prescan = true;
	return a->compression ? build_options_parse_compression(b, a->compression) : 0;
}

int source_args_install_open(const struct source_args *a, struct image_install *in)
{
	struct build_options b;
	int r = source_args_build_options(a, &b);
	return r < 0 ? r : image_install_open(in, a->source, &a->pull, &b);
}
