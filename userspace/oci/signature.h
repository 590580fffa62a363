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

#define SIGNATURE_LAYERS_MAX 64u

struct signature_verdict {
	char signed_by[TRUST_FINGERPRINT_SIZE]; /* "" when nothing was verified */
	const char *format;                     /* "cosign", "bundle", or NULL when unsigned */
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
