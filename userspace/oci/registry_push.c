/* SPDX-License-Identifier: Apache-2.0 */
#include "registry_push.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http.h"
#include "log.h"
#include "manifest.h"
#include "registry_auth.h"
#include "util.h"

/* One request of a push; a refusal is logged with what to do about it
 * (other failures are logged by the transport or the authorization). */
static int push_request(const struct registry_endpoint *e, struct http_request *rq, struct http_response *resp)
{
	rq->attempts = 0;
	int r = http_get(e->http, rq, resp);
	if (r >= 0 || !resp->refused || rq->quiet)
		return r;
	_cleanup_free_ char *text = registry_error_text(resp);
	char status[32];
	snprintf(status, sizeof(status), "HTTP %ld", resp->status);
	if (resp->status == 401 || resp->status == 403)
		return log_error_errno(-EACCES,
				       "Registry %s refused to let us push %s to %s (%s): pass --creds USER:PASS "
				       "of an account that may push to %s (or log in with docker/podman)",
				       e->registry, rq->what, e->repository, text ?: status, e->repository);
	if (resp->status == 405)
		return log_error_errno(-EROFS,
				       "Registry %s does not take pushes of %s to %s (%s): is it read-only, or a "
				       "mirror? Sign where the image is published",
				       e->registry, rq->what, e->repository, text ?: status);
	if (resp->status >= 300 && resp->status < 400)
		return log_error_errno(-EPROTO, "Registry %s redirected the push of %s (%s); not following it",
				       e->registry, rq->what, status);
	return log_error_errno(r, "Registry %s answered %s to the push of %s to %s%s%s", e->registry, status, rq->what,
			       e->repository, text ? ": " : "", text ?: "");
}

/* The upload URL a POST answered with: relative to the registry, or
 * absolute. Our authorization goes only to the registry's own origin. */
static int upload_url(const struct registry_endpoint *e, const char *location, const char *digest, char **ret,
		      bool *ret_same_origin)
{
	if (!location || !*location)
		return log_error_errno(-EPROTO, "Registry %s started an upload without saying where (no Location)",
				       e->registry);
	for (const char *p = location; *p; p++)
		if ((unsigned char) *p <= ' ' || *p == 0x7f)
			return log_error_errno(-EPROTO, "Registry %s named a malformed upload location", e->registry);
	_cleanup_free_ char *absolute = NULL;
	if (location[0] == '/') {
		if (location[1] == '/')
			return log_error_errno(-EPROTO, "Registry %s named a malformed upload location", e->registry);
		if (asprintf(&absolute, "%s%s", e->base, location) < 0)
			return -ENOMEM;
	} else {
		_cleanup_free_ char *origin = auth_url_origin(location);
		if (!origin)
			return log_error_errno(-EPROTO, "Registry %s named an upload location that is not http(s)",
					       e->registry);
		absolute = strdup(location);
		if (!absolute)
			return -ENOMEM;
	}
	*ret_same_origin = auth_same_origin(absolute, e->base);
	if (asprintf(ret, "%s%cdigest=%s", absolute, strchr(absolute, '?') ? '&' : '?', digest) < 0)
		return -ENOMEM;
	return 0;
}

int registry_push_blob(struct registry *reg, const void *data, size_t size, const char *what,
		       char ret_digest[static DIGEST_STRING_MAX])
{
	struct registry_endpoint e;
	registry_endpoint(reg, &e);
	int r = digest_buffer(data, size, ret_digest);
	if (r < 0)
		return r;
	_cleanup_free_ char *blob_url = NULL, *uploads = NULL, *url = NULL;
	if (asprintf(&blob_url, "%s/v2/%s/blobs/%s", e.base, e.repository, ret_digest) < 0 ||
	    asprintf(&uploads, "%s/v2/%s/blobs/uploads/", e.base, e.repository) < 0)
		return -ENOMEM;

	/* Already there (a second signature with the same payload, a config
	 * shared with another signature image): nothing to send. */
	struct http_response resp;
	struct http_request head = {
		.what = what,
		.url = blob_url,
		.method = "HEAD",
		.authorize = registry_auth_apply,
		.unauthorized = registry_auth_answer,
		.auth_ctx = e.auth,
		.quiet = true,
		.attempts = 1,
	};
	r = http_get(e.http, &head, &resp);
	http_response_done(&resp);
	if (r >= 0)
		return 0;

	struct http_request post = {
		.what = what,
		.url = uploads,
		.method = "POST",
		.header_name = "location",
		.authorize = registry_auth_apply,
		.unauthorized = registry_auth_answer,
		.auth_ctx = e.auth,
		.document = true,
	};
	r = push_request(&e, &post, &resp);
	bool same_origin = false;
	if (r >= 0 && resp.status != 202)
		r = log_error_errno(-EPROTO, "Registry %s answered HTTP %ld to starting the upload of %s, not 202",
				    e.registry, resp.status, what);
	if (r >= 0)
		r = upload_url(&e, resp.header, ret_digest, &url, &same_origin);
	http_response_done(&resp);
	if (r < 0)
		return r;

	struct http_request put = {
		.what = what,
		.url = url,
		.method = "PUT",
		.upload = data,
		.upload_size = size,
		.upload_type = "application/octet-stream",
		.authorize = same_origin ? registry_auth_apply : NULL,
		.unauthorized = same_origin ? registry_auth_answer : NULL,
		.auth_ctx = e.auth,
		.document = true,
	};
	r = push_request(&e, &put, &resp);
	if (r >= 0 && resp.status != 201)
		r = log_error_errno(-EPROTO, "Registry %s answered HTTP %ld to the upload of %s, not 201", e.registry,
				    resp.status, what);
	http_response_done(&resp);
	return r;
}

int registry_has_manifest(struct registry *reg, const char *tag)
{
	struct registry_endpoint e;
	registry_endpoint(reg, &e);
	_cleanup_free_ char *url = NULL, *what = NULL;
	if (asprintf(&url, "%s/v2/%s/manifests/%s", e.base, e.repository, tag) < 0 ||
	    asprintf(&what, "manifest %s", tag) < 0)
		return -ENOMEM;
	struct http_response resp;
	struct http_request head = {
		.what = what,
		.url = url,
		.method = "HEAD",
		.accept = MANIFEST_ACCEPT,
		.authorize = registry_auth_apply,
		.unauthorized = registry_auth_answer,
		.auth_ctx = e.auth,
		.document = true,
	};
	int r = http_get(e.http, &head, &resp);
	long status = resp.status;
	bool refused = resp.refused;
	http_response_done(&resp);
	if (r >= 0)
		return 1;
	if (r == -ENOENT && refused && status == 404)
		return 0;
	if (refused)
		return log_error_errno(r, "Registry %s answered HTTP %ld when asked for %s in %s", e.registry, status,
				       what, e.repository);
	return r;
}

int registry_push_manifest(struct registry *reg, const char *tag, const void *body, size_t size, const char *media_type,
			   char *ret_digest)
{
	struct registry_endpoint e;
	registry_endpoint(reg, &e);
	char digest[DIGEST_STRING_MAX];
	int r = digest_buffer(body, size, digest);
	if (r < 0)
		return r;
	_cleanup_free_ char *url = NULL, *what = NULL;
	if (asprintf(&url, "%s/v2/%s/manifests/%s", e.base, e.repository, tag) < 0 ||
	    asprintf(&what, "manifest %s", tag) < 0)
		return -ENOMEM;
	struct http_response resp;
	struct http_request put = {
		.what = what,
		.url = url,
		.method = "PUT",
		.upload = body,
		.upload_size = size,
		.upload_type = media_type,
		.header_name = "docker-content-digest",
		.authorize = registry_auth_apply,
		.unauthorized = registry_auth_answer,
		.auth_ctx = e.auth,
		.document = true,
	};
	r = push_request(&e, &put, &resp);
	if (r >= 0 && resp.status != 201)
		r = log_error_errno(-EPROTO, "Registry %s answered HTTP %ld to the push of %s, not 201", e.registry,
				    resp.status, what);
	if (r >= 0 && resp.header && !streq(resp.header, digest))
		r = log_error_errno(-EBADMSG, "Registry %s stored %s as %s, but its bytes hash to %s", e.registry, what,
				    resp.header, digest);
	http_response_done(&resp);
	if (r >= 0 && ret_digest)
		memcpy(ret_digest, digest, DIGEST_STRING_MAX);
	return r;
}
