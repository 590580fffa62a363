/* SPDX-License-Identifier: Apache-2.0 */
/* The signature check of a pull (issue 15): after the manifest is resolved
 * and before any layer byte is read, the policy (trust/policy.h) decides
 * what the image needs; when it needs a signature, cosign's classic one is
 * looked up in the same store as the image: the manifest tagged
 * `sha256-<hex>.sig` (cosign sign writes it into the repository, cosign
 * save into an OCI layout), one layer per signature. Key-based only: no
 * Fulcio certificates, no Rekor log.
 *
 * Bounded: the signature manifest by the store's manifest limit, at most
 * SIGNATURE_LAYERS_MAX layers, each payload at most
 * SIMPLE_SIGNING_PAYLOAD_MAX bytes (a descriptor claiming more is refused
 * before any byte of it is read, and the store stops a blob at its
 * descriptor's size). Over a bound the image is refused, never judged on
 * part of its signatures.
 *
 * When no classic signature does, cosign 3's Sigstore bundles (the store's
 * fetch_bundles, referrers.h) are checked the same way (trust/bundle.h);
 * a bundle naming no repository counts under matchRepoDigestOrExact only. */
#pragma once

#include <stdbool.h>

#include "digest.h"
#include "key.h"
#include "policy.h"
#include "pull_source.h"
#include "simple_signing.h"

#define SIGNATURE_LAYERS_MAX 64u

/* Distinct signed root hashes kept from one image's accepted signatures;
 * more refuse the image (over a bound). */
#define SIGNATURE_ROOT_HASHES_MAX 8u

/* A root hash an accepted signature pins the image's build to (issue 17:
 * simple_signing.h's dev.kairos.verity.*), with the settings it was built with. */
struct signature_root_hash {
	char hash[64 + 1];
	char build[SIMPLE_SIGNING_VERITY_BUILD_MAX + 1];
};

struct signature_verdict {
	char signed_by[TRUST_FINGERPRINT_SIZE]; /* "" when nothing was verified */
	const char *format;                     /* "cosign", "bundle", or NULL when unsigned */
	/* Every accepted classic signature is read (not only the first): the
	 * root hashes they carry, distinct. The built image must have one of
	 * them (signature_check_root_hash()). Bundles carry none. */
	struct signature_root_hash root_hashes[SIGNATURE_ROOT_HASHES_MAX];
	size_t n_root_hashes;
};

/* Decides whether the image of digest (reached through index_digest when
 * not NULL) may be installed under policy. image: its registry identity, or
 * NULL for a local source (an OCI layout or an archive), which gets the
 * policy's "default" and no identity check (see docs/DESIGN.md). name is the
 * image for messages. 0: accepted (*ret says by whom, if anyone);
 * -EACCES: refused (logged, one line, with what to do); -E2BIG: a
 * signature over a bound; other errors from the store. */
int signature_check(const struct policy *policy, const struct manifest_store *store, const struct identity_ref *image,
		    const char *name, const char *digest, const char *index_digest, struct signature_verdict *ret);

/* After the build, before anything is committed (issue 17): the image's
 * root hash (64 lowercase hex) against the root hashes its signatures
 * carry. 0: one of them is it, or there is none and require is false;
 * -EACCES (logged, naming both hashes and, when they differ, both build
 * settings; build is this node's build_record_string()): a mismatch, or
 * require and no signed root hash (name: the image, for messages). */
int signature_check_root_hash(const struct signature_verdict *v, bool require, const char *name, const char *root_hash,
			      const char *build);
