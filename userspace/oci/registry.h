/* SPDX-License-Identifier: Apache-2.0 */
/* A client for the OCI distribution API (pull side): the /v2/ probe,
 * manifests and blobs with size and digest verification. Requests go
 * through http.h (retries, stalls, redirects, resumption), answered with
 * registry_auth.h's Basic credentials or Bearer token. A struct registry
 * may be used by several threads at once (one per blob download). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "blob_sink.h"
#include "digest.h"
#include "manifest.h"
#include "reference.h"

struct registry_options {
	bool insecure;          /* plain HTTP or unverified TLS */
	const char *ca_file;    /* extra trust anchors, NULL for the system's */
	const char *creds;      /* "USER:PASS" from --creds, or NULL to look in files */
	unsigned attempts;      /* per request; 0 means the default (5) */
	unsigned stall_seconds; /* abort a transfer this long without progress; 0: 30 */
	bool push;              /* ask for tokens that may push too (registry_push.h) */
};

struct registry;

/* Connects to the registry of ref and authenticates for pulling its
 * repository. Errors are logged with what to do about them. */
int registry_open(const struct image_reference *ref, const struct registry_options *opts, struct registry **ret);
struct registry *registry_free(struct registry *reg);

/* Fetches a manifest by tag or digest into memory (at most
 * MANIFEST_SIZE_MAX). Its sha256 is computed over the raw bytes and
 * written to ret_digest; when object is a digest, it must match.
 * ret_content_type is the Content-Type as served (parameters included). */
int registry_fetch_manifest(struct registry *reg, const char *object, unsigned flags, char **ret_body, size_t *ret_size,
			    char **ret_content_type, char ret_digest[static DIGEST_STRING_MAX]);

/* Streams the blob of descriptor d into sink, checking its size against
 * d->size as it goes and its sha256 at the end; interrupted transfers are
 * resumed with a Range request. Returns 0 only when every byte arrived and
 * the digest matched; -EBADMSG on a mismatch (logged, naming the digest). */
int registry_fetch_blob(struct registry *reg, const char *digest, uint64_t size, blob_sink_t sink, void *userdata);

/* A small JSON document of the repository's API, an OCI index: path is
 * relative to /v2/NAME/ ("referrers/sha256:HEX", the OCI 1.1 referrers
 * API, or "manifests/TAG"), at most MANIFEST_SIZE_MAX. -ENOENT (not
 * logged): HTTP 404, an API the registry does not have or a tag that is
 * not there, the caller's normal case; other failures are logged. */
int registry_fetch_index(struct registry *reg, const char *path, char **ret_body, size_t *ret_size);
/* What registry_push.c sends its requests with: reg's transport, its
 * authorization (for http_request's authorize/unauthorized) and origin. */
struct registry_auth;
struct registry_endpoint {
	struct http_client *http;
	struct registry_auth *auth;
	const char *base;       /* "https://host" or "http://host" */
	const char *registry;   /* as the user named it */
	const char *repository; /* "library/debian" */
};
void registry_endpoint(struct registry *reg, struct registry_endpoint *ret);
struct http_response;
/* "MANIFEST_UNKNOWN: manifest unknown" from a distribution error body,
 * cut short (the logger shows it in its printable form); NULL if none. */
char *registry_error_text(const struct http_response *resp);

struct manifest_store;
/* A manifest store (see pull_source.h) reading from reg, which must
 * outlive it. */
void registry_manifest_store(struct registry *reg, struct manifest_store *ret);
