/* SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "membuf.h"
#include "pull_source.h"
#include "referrers.h"
#include "registry_auth.h"
#include "util.h"

#define ERROR_BODY_MAX (64 * 1024)

struct registry {
	char *registry; /* as the user named it, for messages */
	char *name;     /* "registry HOST" */
	char *repository;
	char *base; /* "https://host" */
	bool insecure;
	struct http_client *http;
	struct registry_auth auth;
};

char *registry_error_text(const struct http_response *resp)
{
	if (!resp->error_body)
		return NULL;
	json_error_t error;
	json_t *root = json_loads(resp->error_body, 0, &error);
	json_t *first = json_array_get(json_object_get(root, "errors"), 0);
	const char *code = json_string_value(json_object_get(first, "code"));
	const char *message = json_string_value(json_object_get(first, "message"));
	char *s = NULL;
	if (code && asprintf(&s, "%s%s%s", code, message ? ": " : "", message ?: "") < 0)
		s = NULL;
	json_decref(root);
	if (s && strlen(s) > 200)
		s[200] = '\0';
	return s;
}

/* A request to the registry's API, answered with its authorization; a
 * refusal is logged with what it means for an image (unless quiet). */
static int registry_get(struct registry *reg, const struct http_request *rq, struct http_response *resp,
			struct membuf *body)
{
	int r = body ? http_get_document(reg->http, rq, resp, body) : http_get(reg->http, rq, resp);
	if (r >= 0 || !resp->refused || rq->quiet || (r == -ENOENT && rq->missing_ok))
		return r;
	_cleanup_free_ char *text = registry_error_text(resp);
	if (r == -ENOENT)
		log_error("%s not found in %s/%s (%s): check the image name and tag; a private "
			  "image may also need credentials",
			  rq->what, reg->registry, reg->repository, text ?: "HTTP 404");
	else if (r == -EACCES)
		log_error("Registry %s refused access to %s (%s): check --creds or the "
			  "credentials file ($REGISTRY_AUTH_FILE, ~/.docker/config.json)",
			  reg->registry, rq->what,
			  text
				  ?: resp->status == 401 ? "HTTP 401"
							 : "HTTP 403");
	else
		log_error("Registry %s answered HTTP %ld for %s%s%s", reg->registry, resp->status, rq->what,
			  text ? ": " : "", text ?: "");
	return r;
}

static int probe(struct registry *reg, bool quiet)
{
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s/v2/", reg->base) < 0)
		return -ENOMEM;
	struct membuf body = MEMBUF_INIT(ERROR_BODY_MAX);
	struct http_response resp;
	struct http_request rq = {
		.what = "the API root",
		.url = url,
		.quiet = true,
		.attempts = quiet ? 1 : 0,
	};
	int r = registry_get(reg, &rq, &resp, &body);
	membuf_done(&body);
	if (r == -EACCES && resp.status == 401) {
		r = registry_auth_answer(&reg->auth, &resp, rq.what, reg->auth.generation);
		http_response_done(&resp);
		return r;
	}
	long status = resp.status;
	char error[HTTP_ERROR_MAX];
	snprintf(error, sizeof(error), "%s", *resp.error ? resp.error : "no answer");
	http_response_done(&resp);
	if (r < 0 && !quiet) {
		if (status == 404)
			return log_error_errno(-EPROTO, "%s is not an OCI registry (no /v2/ API)", reg->registry);
		if (status)
			return log_error_errno(r, "Registry %s answered HTTP %ld to the API probe", reg->registry,
					       status);
		if (r == -ECONNABORTED)
			return log_error_errno(r,
					       "TLS handshake with registry %s failed (%s): if it speaks plain HTTP, "
					       "use --insecure",
					       reg->registry, error);
		if (r == -EPERM)
			return log_error_errno(r,
					       "TLS with registry %s failed (%s): for a private CA use --ca-file; "
					       "--insecure skips verification",
					       reg->registry, error);
		return log_error_errno(r, "Cannot reach registry %s (%s): check the address and that it is up%s",
				       reg->registry, error,
				       reg->insecure ? "" : "; an HTTP-only registry needs --insecure");
	}
	return r;
}

int registry_open(const struct image_reference *ref, const struct registry_options *opts, struct registry **ret)
{
	struct registry *reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	registry_auth_init(&reg->auth);
	reg->insecure = opts->insecure;
	reg->registry = strdup(ref->registry);
	reg->repository = strdup(ref->repository);
	if (asprintf(&reg->name, "registry %s", ref->registry) < 0)
		reg->name = NULL;
	struct http_client_options ho = {
		.peer = ref->registry,
		.insecure = opts->insecure,
		.ca_file = opts->ca_file,
		.attempts = opts->attempts,
		.stall_seconds = opts->stall_seconds,
	};
	if (!reg->name || !reg->registry || !reg->repository || http_client_new(&ho, &reg->http) < 0) {
		registry_free(reg);
		return -ENOMEM;
	}
	reg->auth.http = reg->http;
	reg->auth.registry = reg->registry;
	reg->auth.repository = reg->repository;
	reg->auth.actions = opts->push ? "pull,push" : NULL;

	int r;
	if (opts->creds) {
		r = credentials_from_string(opts->creds, &reg->auth.creds);
		if (r < 0) {
			registry_free(reg);
			return log_error_errno(r, "--creds wants USER:PASSWORD");
		}
	} else {
		r = credentials_find(ref->registry, &reg->auth.creds);
		if (r < 0 && r != -ENOENT) {
			registry_free(reg);
			return r;
		}
	}

	/* An insecure registry may still speak TLS (with a certificate we do
	 * not check); plain HTTP is the fallback, never the first try. */
	if (asprintf(&reg->base, "https://%s", ref->api_host) < 0) {
		registry_free(reg);
		return -ENOMEM;
	}
	reg->auth.base = reg->base;
	r = probe(reg, reg->insecure);
	if (r < 0 && r != -EACCES && reg->insecure) {
		free(reg->base);
		if (asprintf(&reg->base, "http://%s", ref->api_host) < 0)
			reg->base = NULL;
		reg->auth.base = reg->base;
		r = reg->base ? probe(reg, false) : -ENOMEM;
	}
	if (r < 0) {
		registry_free(reg);
		return r;
	}
	*ret = reg;
	return 0;
}

struct registry *registry_free(struct registry *reg)
{
	if (!reg)
		return NULL;
	free(reg->registry);
	free(reg->name);
	free(reg->repository);
	free(reg->base);
	registry_auth_done(&reg->auth);
	http_client_free(reg->http);
	free(reg);
	return NULL;
}

int registry_fetch_manifest(struct registry *reg, const char *object, unsigned flags, char **ret_body, size_t *ret_size,
			    char **ret_content_type, char ret_digest[static DIGEST_STRING_MAX])
{
	bool by_digest = strncmp(object, DIGEST_SHA256_PREFIX, strlen(DIGEST_SHA256_PREFIX)) == 0;
	if (by_digest && !digest_is_valid(object))
		return log_error_errno(-EINVAL, "Invalid digest '%s'", object);

	_cleanup_free_ char *url = NULL, *what = NULL;
	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, reg->repository, object) < 0 ||
	    asprintf(&what, "manifest %s", object) < 0)
		return -ENOMEM;
	struct membuf body = MEMBUF_INIT(MANIFEST_SIZE_MAX);
	struct http_response resp;
	struct http_request rq = {
		.what = what,
		.url = url,
		.accept = MANIFEST_ACCEPT,
		.header_name = "docker-content-digest",
		.authorize = registry_auth_apply,
		.unauthorized = registry_auth_answer,
		.auth_ctx = &reg->auth,
		.max_size = MANIFEST_SIZE_MAX,
		.document = true,
		.missing_ok = flags & MANIFEST_MAY_BE_MISSING,
	};
	int r = registry_get(reg, &rq, &resp, &body);
	if (r >= 0)
		r = digest_buffer(body.data ?: "", body.size, ret_digest);
	if (r >= 0 && by_digest && !streq(ret_digest, object))
		r = log_error_errno(-EBADMSG, "Digest mismatch for manifest %s: the registry sent %s; refusing it",
				    object, ret_digest);
	const char *said = resp.header; /* Docker-Content-Digest */
	if (r >= 0 && said && digest_is_valid(said) && !streq(said, ret_digest))
		r = log_error_errno(-EBADMSG,
				    "Digest mismatch for manifest %s: the registry says %s, its bytes hash "
				    "to %s; refusing it",
				    object, said, ret_digest);
	if (r >= 0) {
		*ret_content_type = TAKE_PTR(resp.content_type);
		*ret_body = membuf_steal(&body, ret_size);
		if (!*ret_body)
			r = -ENOMEM;
	}
	membuf_done(&body);
	http_response_done(&resp);
	return r;
}

/* A blob download: the hash runs over the bytes once, in order (the
 * transport resumes a broken transfer where it stopped). */
struct blob_transfer {
	struct registry *reg;
	const char *what; /* "blob sha256:...", with what it is when known */
	uint64_t size;
	uint64_t received;
	struct digest_ctx md;
	blob_sink_t sink;
	void *userdata;
};

static int blob_check_response(void *ctx, const struct http_response *resp)
{
	struct blob_transfer *b = ctx;
	/* The descriptor's size is authoritative. */
	uint64_t expected = resp->status == 206 ? b->size - resp->resumed_from : b->size;
	if (resp->content_length >= 0 && (uint64_t) resp->content_length != expected)
		return log_error_errno(-EBADMSG,
				       "Size mismatch for %s: the registry announces %lld bytes, the "
				       "manifest says %llu; refusing it",
				       b->what, (long long) resp->content_length, (unsigned long long) expected);
	return 0;
}

static int blob_payload(void *ctx, const void *data, size_t size)
{
	struct blob_transfer *b = ctx;
	if (size > b->size - b->received)
		return log_error_errno(-EBADMSG,
				       "Size mismatch for %s: the registry sends more than the %llu "
				       "bytes the manifest says; refusing it",
				       b->what, (unsigned long long) b->size);
	int r = digest_update(&b->md, data, size);
	if (r < 0)
		return r;
	b->received += size;
	return b->sink(b->userdata, data, size);
}

/* kind, when not NULL, says what the blob is ("image config") in messages. */
static int fetch_blob(struct registry *reg, const char *digest, uint64_t size, const char *kind, blob_sink_t sink,
		      void *userdata)
{
	if (!digest_is_valid(digest))
		return log_error_errno(-EINVAL, "Invalid digest '%s'", digest);
	_cleanup_free_ char *url = NULL, *what = NULL;
	if (asprintf(&url, "%s/v2/%s/blobs/%s", reg->base, reg->repository, digest) < 0 ||
	    asprintf(&what, "blob %s%s%s%s", digest, kind ? " (the " : "", kind ?: "", kind ? ")" : "") < 0)
		return -ENOMEM;

	struct blob_transfer b = { .reg = reg, .what = what, .size = size, .sink = sink, .userdata = userdata };
	int r = digest_init(&b.md);
	if (r < 0)
		return r;
	struct http_response resp;
	struct http_request rq = {
		.what = what,
		.url = url,
		.authorize = registry_auth_apply,
		.unauthorized = registry_auth_answer,
		.auth_ctx = &reg->auth,
		.resume = true,
		.on_response = blob_check_response,
		.payload = blob_payload,
		.ctx = &b,
	};
	r = registry_get(reg, &rq, &resp, NULL);
	http_response_done(&resp);
	if (r >= 0 && b.received != size)
		r = log_error_errno(-EBADMSG, "Size mismatch for %s: got %llu of %llu bytes; refusing it", what,
				    (unsigned long long) b.received, (unsigned long long) size);
	char got[DIGEST_STRING_MAX];
	if (r >= 0)
		r = digest_final(&b.md, got);
	if (r >= 0 && !streq(got, digest))
		r = log_error_errno(-EBADMSG,
				    "Digest mismatch for %s: its bytes hash to %s; the registry "
				    "or something on the way corrupted it",
				    what, got);
	digest_done(&b.md);
	return r;
}
int registry_fetch_blob(struct registry *reg, const char *digest, uint64_t size, blob_sink_t sink, void *userdata)
{
	return fetch_blob(reg, digest, size, NULL, sink, userdata);
}

int registry_fetch_index(struct registry *reg, const char *path, char **ret_body, size_t *ret_size)
{
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s/v2/%s/%s", reg->base, reg->repository, path) < 0)
		return -ENOMEM;
	struct membuf body = MEMBUF_INIT(MANIFEST_SIZE_MAX);
	struct http_response resp;
	struct http_request rq = {
		.what = path,
		.url = url,
		.accept = MEDIA_TYPE_OCI_INDEX,
		.authorize = registry_auth_apply,
		.unauthorized = registry_auth_answer,
		.auth_ctx = &reg->auth,
		.quiet = true,
		.max_size = MANIFEST_SIZE_MAX,
		.document = true,
	};
	int r = registry_get(reg, &rq, &resp, &body);
	if (r < 0 && r != -ENOENT && r != -EFBIG) /* -EFBIG: logged */
		log_error_errno(r, "Registry %s failed %s of %s (HTTP %ld%s%s)", reg->registry, path, reg->repository,
				resp.status, *resp.error ? ": " : "", resp.error);
	if (r >= 0) {
		*ret_body = membuf_steal(&body, ret_size);
		if (!*ret_body)
			r = -ENOMEM;
	}
	membuf_done(&body);
	http_response_done(&resp);
	return r;
}

void registry_endpoint(struct registry *reg, struct registry_endpoint *ret)
{
	*ret = (struct registry_endpoint){ .http = reg->http,
					   .auth = &reg->auth,
					   .base = reg->base,
					   .registry = reg->registry,
					   .repository = reg->repository };
}

static int store_fetch_manifest(void *ctx, const char *object, unsigned flags, char **ret_body, size_t *ret_size,
				char **ret_media_type, char ret_digest[static DIGEST_STRING_MAX])
{
	if (!object)
		return -EINVAL;
	return registry_fetch_manifest(ctx, object, flags, ret_body, ret_size, ret_media_type, ret_digest);
}

static int store_produce_blob(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	/* Messages say which blob failed: a config's digest is checked like a layer's. */
	const char *t = d->media_type ?: "";
	bool config = strstr(t, ".config.") || strstr(t, "container.image.");
	return fetch_blob(ctx, d->digest, d->size, config ? "image config" : "layer", sink, sink_ctx);
}

static int store_fetch_bundles(const struct manifest_store *store, const char *const *subjects,
			       struct referrer_bundles *ret)
{
	return referrers_fetch_bundles(store->ctx, subjects, ret);
}

static uint64_t store_bytes_received(void *ctx)
{
	const struct registry *reg = ctx;
	return http_client_received(reg->http);
}

void registry_manifest_store(struct registry *reg, struct manifest_store *ret)
{
	*ret = (struct manifest_store){
		.name = reg->name,
		.fetch_manifest = store_fetch_manifest,
		.produce_blob = store_produce_blob,
		.fetch_bundles = store_fetch_bundles,
		.bytes_received = store_bytes_received,
		.ctx = reg,
	};
}
