/* SPDX-License-Identifier: Apache-2.0 */
/* cosign 3's signatures as a registry holds them: OCI 1.1 referrers of the
 * image's manifest, each an OCI manifest with artifactType
 * application/vnd.dev.sigstore.bundle.v0.3+json whose one layer is the
 * Sigstore bundle (trust/bundle.h verifies it). The list comes from the
 * referrers API (GET /v2/NAME/referrers/DIGEST); a registry without it
 * answers 404, and then from the referrers tag schema: an index at tag
 * sha256-HEX (what cosign and go-containerregistry write there). Nothing
 * fetched here is trusted: everything is bounded, and only a bundle that
 * verifies against a configured key counts. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct manifest_store;
struct registry;

/* More bundles than this for one digest: refused, not truncated. */
#define REFERRERS_BUNDLES_MAX 16u
/* Entries of a referrers index (all artifact types). */
#define REFERRERS_ENTRIES_MAX 1024u
/* A referrer manifest is ~700 bytes. */
#define REFERRER_MANIFEST_MAX (64u * 1024)
#define REFERRER_ARTIFACT_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"

struct referrer_bundle {
	char referrer[DIGEST_STRING_MAX]; /* the referrer manifest's digest */
	char *data;                       /* the bundle's bytes, NUL after them */
	size_t size;
};

struct referrer_bundles {
	struct referrer_bundle *items;
	size_t n;
};
void referrer_bundles_done(struct referrer_bundles *b);

/* Pure parsers (no I/O; fuzzed). */

/* The referrer manifests of a referrers index (the API's answer or the
 * tag schema's) that are bundles: entries of artifactType
 * REFERRER_ARTIFACT_TYPE and media type OCI manifest, whose
 * dev.sigstore.bundle.predicateType annotation (when present) is a
 * signature's, not an attestation's; digests valid, deduplicated.
 * -EBADMSG: not an index (reason set); -E2BIG: over REFERRERS_ENTRIES_MAX
 * entries or REFERRERS_BUNDLES_MAX bundles. *ret is an array of
 * DIGEST_STRING_MAX strings. */
int referrers_parse_index(const void *buf, size_t size, char (**ret)[DIGEST_STRING_MAX], size_t *ret_n,
			  const char **ret_reason);

/* The bundle layer of a referrer manifest: artifactType (or, without one,
 * the config's media type) REFERRER_ARTIFACT_TYPE, exactly one layer of
 * that media type, at most BUNDLE_SIZE_MAX bytes. -EBADMSG with reason. */
int referrers_parse_manifest(const void *buf, size_t size, char ret_digest[static DIGEST_STRING_MAX],
			     uint64_t *ret_size, const char **ret_reason);

/* Fetches the Sigstore bundles attached to each of subjects
 * (NULL-terminated: the manifest being installed and, for a platform
 * picked from an index, the index), from the referrers API or, on 404, the
 * tag schema. A referrer that is malformed or fails its digest is skipped
 * with a warning (an attacker's junk must not hide a valid bundle); none
 * at all is 0 with ret->n == 0. -E2BIG (logged): more than
 * REFERRERS_BUNDLES_MAX bundles for one subject; transport failures as
 * registry.h logs them. */
int referrers_fetch_bundles(struct registry *reg, const char *const *subjects, struct referrer_bundles *ret);
/* The same from a store without a referrers API (an OCI layout, as
 * `cosign save` or a copy of the tag writes it): the tag schema only. */
int referrers_store_bundles(const struct manifest_store *store, const char *const *subjects,
			    struct referrer_bundles *ret);
