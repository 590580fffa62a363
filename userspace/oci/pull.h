/* SPDX-License-Identifier: Apache-2.0 */
/* Pulling one image, for `pull` and for the verbs that install one: open a
 * source by name (oci:REF, oci-layout:DIR[:TAG], oci-archive:FILE[:TAG],
 * docker-archive:FILE[:REF]), resolve it to the image
 * for a platform, and build the squashfs from its verified layers. The
 * digest is known before anything is written, so a caller can name the
 * output after it (images are named by their manifest digest). */
#pragma once

#include "build_image.h"
#include "build_record.h"
#include "progress.h"
#include "registry.h"

struct policy;

struct pull_options {
	const char *platform; /* "OS/ARCH[/VARIANT]"; NULL: this machine */
	enum progress_mode progress;
	struct registry_options registry;
	/* The signature policy (trust/policy.h), checked before any layer byte
	 * is read; NULL: none, nothing checked, the image is unsigned. */
	const struct policy *policy;
	/* Refuse the build unless an accepted signature carries a root hash
	 * (issue 17); the one it carries binds whether this is set or not. */
	bool require_signed_root_hash;
};

struct pull;

/* Resolves source; errors are logged with what to do about them. */
int pull_open(const char *source, const struct pull_options *opts, struct pull **ret);
struct pull *pull_free(struct pull *p);
static inline void pull_freep(struct pull **p)
{
	pull_free(*p);
}

/* "sha256:<hex>" of the image manifest: the image id. */
const char *pull_digest(const struct pull *p);
/* The source as resolved, for messages: "quay.io/kairos/core:v1". */
const char *pull_name(const struct pull *p);
size_t pull_n_layers(const struct pull *p);
const char *pull_layer_digest(const struct pull *p, size_t index);
/* Who signed it: the key's fingerprint (sha256 hex of its DER SPKI), NULL
 * when no signature was checked. */
const char *pull_signed_by(const struct pull *p);
/* "cosign" when a signature was verified, else NULL. */
const char *pull_signature_format(const struct pull *p);
/* Whether pull_build() checks the built image's root hash against a
 * signed one (a signature carries one, or one is required): an image
 * built earlier cannot stand in for the build. */
bool pull_root_hash_binds(const struct pull *p);
/* The policy file that was in force, NULL without a policy. */
const char *pull_policy_file(const struct pull *p);
uint64_t pull_layer_bytes(const struct pull *p);
/* What crossed the network so far (pull_source_bytes_received()): each
 * blob once, with the manifests and the config. */
uint64_t pull_bytes_received(const struct pull *p);
/* What pull_build() keeps beside its output meanwhile (build_image_reread_bytes()). */
uint64_t pull_reread_bytes(const struct pull *p, const struct build_options *opts);

/* Streams the layers into output_path through build_image_squashfs()
 * (nothing is left behind on failure). Upper layers the builder reads twice
 * are kept, unnamed, in output_path's directory meanwhile
 * (build_image_reread_bytes() of them: oci/layer_spool.h). With
 * opts->reuse, the first layers may come from an installed image instead
 * (image_reuse.h); when that fails, the build starts again from all the
 * layers. opts and stats may be NULL. */
int pull_build(struct pull *p, const char *output_path, const struct build_options *opts, struct build_stats *stats);
/* After pull_build(): the stored bytes of the layers not downloaded, and
 * the name of the installed image they came from (NULL: none). */
uint64_t pull_reused_bytes(const struct pull *p);
const char *pull_reused_from(const struct pull *p);

/* How the last successful pull_build() built its image (build_record.h),
 * or NULL. */
const struct build_record *pull_build_record(const struct pull *p);
/* The dm-verity tree pull_build() appended to its output; NULL before a
 * successful build. */
const struct verity_record *pull_verity(const struct pull *p);

/* For the anti-downgrade rule (trust/downgrade.h): the image config's
 * "created" (RFC 3339) and its org.opencontainers.image.version label, read
 * before any layer; NULL when absent, or when bounded, printable, well-formed
 * they are not (oci/image_config.h). */
const char *pull_created(const struct pull *p);
const char *pull_version(const struct pull *p);
