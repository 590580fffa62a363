/* SPDX-License-Identifier: Apache-2.0 */
/* An image_source for whatever stores manifests and blobs by digest (a
 * registry, an OCI layout): resolves a tag or digest through an index to
 * the manifest for one platform, checks its layers can be read, and hands
 * out verified layer streams, counting progress as the builder reads. */
#pragma once

#include <stdbool.h>

#include "blob_stream.h"
#include "digest.h"
#include "image_source.h"
#include "manifest.h"
#include "progress.h"

struct referrer_bundles;

/* fetch_manifest's flags. A lookup of a tag that may well be absent (a
 * signature image, the referrers tag schema): -ENOENT is an answer, not
 * logged. */
#define MANIFEST_MAY_BE_MISSING 1u

struct manifest_store {
	const char *name; /* for messages: "registry 127.0.0.1:5000", "OCI layout /x" */
	/* Fetches a manifest by tag or digest (NULL: the store's default);
	 * ret_digest is the sha256 of its raw bytes, verified when object is a
	 * digest. ret_media_type: the served type or the referring descriptor's
	 * (may be NULL). */
	int (*fetch_manifest)(void *ctx, const char *object, unsigned flags, char **ret_body, size_t *ret_size,
			      char **ret_media_type, char ret_digest[static DIGEST_STRING_MAX]);
	blob_producer_t produce_blob;
	/* The Sigstore bundles referring to subjects (NULL-terminated digests),
	 * as referrers.h fetches them; NULL for a store that holds none. */
	int (*fetch_bundles)(const struct manifest_store *store, const char *const *subjects,
			     struct referrer_bundles *ret);
	/* What the transport has received so far (http.c counts it), NULL for
	 * a store on a local disk. */
	uint64_t (*bytes_received)(void *ctx);
	void *ctx;
};

/* On success ret_digest holds the image manifest's digest (the image id).
 * platform picks from an index; an image outside any index that is for
 * another platform is refused if platform_explicit, else warned about.
 * progress may be NULL. The store must outlive the source. */
int pull_source_new(const struct manifest_store *store, const char *object, const struct platform *platform,
		    bool platform_explicit, struct progress *progress, struct image_source **ret,
		    char ret_digest[static DIGEST_STRING_MAX]);
struct image_source *pull_source_free(struct image_source *src);
/* The config's "created" and org.opencontainers.image.version label, each
 * NULL when absent or invalid (image_config.h). */
const char *pull_source_created(const struct image_source *src);
const char *pull_source_version(const struct image_source *src);
/* The digest of the index the image was chosen from (the one the tag or
 * digest named), NULL when the reference named the image itself. */
const char *pull_source_index_digest(const struct image_source *src);
/* Where keep_layers() keeps the layers the builder reads twice (the
 * destination's directory), NULL: nowhere, they are read twice. Drops
 * what was kept before. */
int pull_source_spool_in(struct image_source *src, const char *dir);
/* Bytes received: counted at the transport for a registry (manifests,
 * configs, error bodies and retries included), the layer bytes read from
 * the store for one on a local disk; never what came from the spool. */
uint64_t pull_source_bytes_received(const struct image_source *src);
