/* SPDX-License-Identifier: Apache-2.0 */
/* referrers.h's pure parsers (no I/O: the fuzz target links only these). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "manifest.h"
#include "referrers.h"
#include "util.h"

#define PREDICATE_ANNOTATION "dev.sigstore.bundle.predicateType"

#define REFUSE(why)                          \
	do {                                 \
		if (ret_reason)              \
			*ret_reason = (why); \
		return -EBADMSG;             \
	} while (0)

void referrer_bundles_done(struct referrer_bundles *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->items[i].data);
	free(b->items);
	*b = (struct referrer_bundles){};
}

static json_t *load(const void *buf, size_t size)
{
	json_error_t error;
	json_t *root = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &error);
	if (root && !json_is_object(root)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* Whether entry e of a referrers index is a signature bundle. */
static bool is_signature_bundle(json_t *e)
{
	const char *artifact = json_string_value(json_object_get(e, "artifactType"));
	const char *media = json_string_value(json_object_get(e, "mediaType"));
	if (!artifact || !streq(artifact, REFERRER_ARTIFACT_TYPE) || !media || !streq(media, MEDIA_TYPE_OCI_MANIFEST))
		return false;
	/* An attestation (SBOM, provenance) is not a signature: skipped
	 * unfetched. The annotation is not trusted the other way: what a
	 * bundle claims to be is checked in its signed statement. */
	json_t *predicate = json_object_get(json_object_get(e, "annotations"), PREDICATE_ANNOTATION);
	return !predicate || (json_is_string(predicate) && streq(json_string_value(predicate), BUNDLE_PREDICATE_TYPE));
}

int referrers_parse_index(const void *buf, size_t size, char (**ret)[DIGEST_STRING_MAX], size_t *ret_n,
			  const char **ret_reason)
{
	_cleanup_(json_decrefp) json_t *root = load(buf, size);
	if (!root)
		REFUSE("not a JSON object (or a key twice)");
	json_t *manifests = json_object_get(root, "manifests");
	if (!json_is_array(manifests))
		REFUSE("no manifests list");
	if (json_array_size(manifests) > REFERRERS_ENTRIES_MAX) {
		if (ret_reason)
			*ret_reason = "more than 1024 referrers";
		return -E2BIG;
	}
	_cleanup_free_ char(*list)[DIGEST_STRING_MAX] = calloc(REFERRERS_BUNDLES_MAX, DIGEST_STRING_MAX);
	if (!list)
		return -ENOMEM;
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(manifests, i, e)
	{
		if (!json_is_object(e))
			REFUSE("a referrer is not an object");
		if (!is_signature_bundle(e))
			continue;
		const char *digest = json_string_value(json_object_get(e, "digest"));
		if (!digest || !digest_is_valid(digest))
			REFUSE("a bundle referrer's digest is not sha256: and 64 lowercase hex");
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = streq(list[j], digest);
		if (seen)
			continue;
		if (n == REFERRERS_BUNDLES_MAX) {
			if (ret_reason)
				*ret_reason = "more than 16 signature bundles";
			return -E2BIG;
		}
		memcpy(list[n++], digest, strlen(digest) + 1);
	}
	*ret = TAKE_PTR(list);
	*ret_n = n;
	return 0;
}

int referrers_parse_manifest(const void *buf, size_t size, char ret_digest[static DIGEST_STRING_MAX],
			     uint64_t *ret_size, const char **ret_reason)
{
	if (size > REFERRER_MANIFEST_MAX)
		REFUSE("referrer manifest larger than 64 KiB");
	_cleanup_(json_decrefp) json_t *root = load(buf, size);
	if (!root)
		REFUSE("not a JSON object (or a key twice)");
	const char *media = json_string_value(json_object_get(root, "mediaType"));
	if (media && !streq(media, MEDIA_TYPE_OCI_MANIFEST))
		REFUSE("not an OCI image manifest");
	json_t *artifact = json_object_get(root, "artifactType");
	if (!artifact) /* OCI 1.1: the config's media type is the artifact type then */
		artifact = json_object_get(json_object_get(root, "config"), "mediaType");
	if (!json_is_string(artifact) || !streq(json_string_value(artifact), REFERRER_ARTIFACT_TYPE))
		REFUSE("artifactType is not " REFERRER_ARTIFACT_TYPE);
	json_t *layers = json_object_get(root, "layers");
	if (!json_is_array(layers) || json_array_size(layers) != 1)
		REFUSE("not exactly one layer");
	json_t *layer = json_array_get(layers, 0);
	const char *layer_type = json_string_value(json_object_get(layer, "mediaType"));
	const char *digest = json_string_value(json_object_get(layer, "digest"));
	json_t *lsize = json_object_get(layer, "size");
	if (!layer_type || !streq(layer_type, REFERRER_ARTIFACT_TYPE))
		REFUSE("the layer is not a Sigstore bundle");
	if (!digest || !digest_is_valid(digest))
		REFUSE("the layer's digest is not sha256: and 64 lowercase hex");
	if (!json_is_integer(lsize) || json_integer_value(lsize) <= 0 || json_integer_value(lsize) > BUNDLE_SIZE_MAX)
		REFUSE("the layer's size is not 1 byte to 256 KiB");
	memcpy(ret_digest, digest, strlen(digest) + 1);
	*ret_size = (uint64_t) json_integer_value(lsize);
	return 0;
}
