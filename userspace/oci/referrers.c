/* SPDX-License-Identifier: Apache-2.0 */
#include "referrers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "log.h"
#include "manifest.h"
#include "membuf.h"
#include "pull_source.h"
#include "registry.h"
#include "util.h"

/* One referrer: its manifest, then its bundle blob, appended to ret.
 * -EBADMSG and the like: this referrer is skipped (logged). */
static int fetch_one(const struct manifest_store *store, const char *referrer, struct referrer_bundles *ret)
{
	_cleanup_free_ char *body = NULL, *content_type = NULL;
	size_t size = 0;
	char got[DIGEST_STRING_MAX];
	int r = store->fetch_manifest(store->ctx, referrer, 0, &body, &size, &content_type, got);
	if (r < 0)
		return r;
	char layer[DIGEST_STRING_MAX];
	uint64_t layer_size = 0;
	const char *reason = NULL;
	r = referrers_parse_manifest(body, size, layer, &layer_size, &reason);
	if (r < 0)
		return log_warning_errno(r, "Ignoring referrer %s: %s", referrer, reason);
	struct membuf blob = MEMBUF_INIT(BUNDLE_SIZE_MAX);
	struct descriptor d = { .media_type = (char *) REFERRER_ARTIFACT_TYPE, .digest = layer, .size = layer_size };
	r = store->produce_blob(store->ctx, &d, membuf_sink, &blob); /* verified by digest and size */
	if (r < 0) {
		membuf_done(&blob);
		return r;
	}
	struct referrer_bundle *items = reallocarray(ret->items, ret->n + 1, sizeof(*items));
	if (!items) {
		membuf_done(&blob);
		return -ENOMEM;
	}
	ret->items = items;
	struct referrer_bundle *b = &items[ret->n];
	*b = (struct referrer_bundle){};
	memcpy(b->referrer, referrer, strlen(referrer) + 1);
	b->data = membuf_steal(&blob, &b->size);
	membuf_done(&blob);
	if (!b->data)
		return -ENOMEM;
	ret->n++;
	return 0;
}

/* The tag schema's index in a store without a referrers API. */
static int store_fetch_tag(const struct manifest_store *store, const char *tag, char **ret_body, size_t *ret_size)
{
	_cleanup_free_ char *type = NULL;
	char got[DIGEST_STRING_MAX];
	return store->fetch_manifest(store->ctx, tag, MANIFEST_MAY_BE_MISSING, ret_body, ret_size, &type, got);
}

/* reg: the registry behind store, whose referrers API is asked first;
 * NULL for a store with the tag schema only (an OCI layout). */
static int fetch_for(struct registry *reg, const struct manifest_store *store, const char *subject,
		     struct referrer_bundles *ret)
{
	if (!digest_is_valid(subject))
		return log_error_errno(-EINVAL, "Invalid digest '%s'", subject);
	_cleanup_free_ char *api = NULL, *tag = NULL, *body = NULL;
	if (asprintf(&api, "referrers/%s", subject) < 0 ||
	    asprintf(&tag, "manifests/sha256-%s", subject + strlen(DIGEST_SHA256_PREFIX)) < 0)
		return -ENOMEM;
	size_t size = 0;
	const char *from = api;
	int r = reg ? registry_fetch_index(reg, api, &body, &size) : -ENOENT;
	if (r == -ENOENT) { /* no referrers API: the tag schema */
		from = tag;
		r = reg ? registry_fetch_index(reg, tag, &body, &size)
			: store_fetch_tag(store, tag + strlen("manifests/"), &body, &size);
		if (r == -ENOENT)
			return log_debug_errno(0, "No referrers of %s", subject);
	}
	if (r < 0)
		return r;
	_cleanup_free_ char(*list)[DIGEST_STRING_MAX] = NULL;
	size_t n = 0;
	const char *reason = NULL;
	r = referrers_parse_index(body, size, &list, &n, &reason);
	if (r == -ENOMEM)
		return r;
	if (r == -E2BIG)
		return log_error_errno(r, "Referrers of %s (%s) refused: %s", subject, from, reason);
	if (r < 0)
		return log_warning_errno(0, "Ignoring the referrers of %s (%s): %s", subject, from, reason);
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < ret->n && !seen; j++)
			seen = streq(ret->items[j].referrer, list[i]);
		if (seen)
			continue;
		r = fetch_one(store, list[i], ret);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			log_warning_errno(r, "Skipping signature bundle %s of %s", list[i], subject);
	}
	return 0;
}

static int fetch_all(struct registry *reg, const struct manifest_store *store, const char *const *subjects,
		     struct referrer_bundles *ret)
{
	struct referrer_bundles got = {};
	for (size_t i = 0; subjects && subjects[i]; i++) {
		int r = fetch_for(reg, store, subjects[i], &got);
		if (r < 0) {
			referrer_bundles_done(&got);
			return r;
		}
	}
	*ret = got;
	return 0;
}

int referrers_fetch_bundles(struct registry *reg, const char *const *subjects, struct referrer_bundles *ret)
{
	struct manifest_store store;
	registry_manifest_store(reg, &store);
	return fetch_all(reg, &store, subjects, ret);
}

int referrers_store_bundles(const struct manifest_store *store, const char *const *subjects,
			    struct referrer_bundles *ret)
{
	return fetch_all(NULL, store, subjects, ret);
}
