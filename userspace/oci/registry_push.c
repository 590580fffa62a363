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

/* A request to the registry's API, answered with its authorization. */
static struct http_request api_request(const struct registry_endpoint *e, const char *what, const char *url,
				       const char *method)
{
	return (struct http_request){
		.what = what,
		.url = url,
		.method = method,
		.authorize = registry_auth_apply,
		.unauthorized = registry_auth_answer,
		.auth_ctx = e->auth,
		.document = true,
	};
}

static int manifest_url(const struct registry_endpoint *e, const char *tag, char **ret_url, char **ret_what)
{
	if (asprintf(ret_url, "%s/v2/%s/manifests/%s", e->base, e->repository, tag) < 0 ||
	    asprintf(ret_what, "manifest %s", tag) < 0)
		return -ENOMEM;
	return 0;
}

/* One request of a push, to be answered with status expect; a refusal is
 * logged with what to do about it (other failures are logged by the
 * transport or the authorization). */
static int push_request(const struct registry_endpoint *e, const struct http_request *rq, long expect,
			struct http_response *resp)
{
	int r = http_get(e->http, rq, resp);
	if (r >= 0 && resp->status != expect)
		return log_error_errno(-EPROTO, "Registry %s answered HTTP %ld to the push of %s, not %ld", e->registry,
				       resp->status, rq->what, expect);
	if (r >= 0 || !resp->refused)
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
	struct http_request rq = api_request(&e, what, blob_url, "HEAD");
	rq.quiet = true;
	rq.attempts = 1;
	r = http_get(e.http, &rq, &resp);
	http_response_done(&resp);
	if (r >= 0)
		return 0;

	rq = api_request(&e, what, uploads, "POST");
	rq.header_name = "location";
	r = push_request(&e, &rq, 202, &resp);
	bool same_origin = false;
	if (r >= 0)
		r = upload_url(&e, resp.header, ret_digest, &url, &same_origin);
	http_response_done(&resp);
	if (r < 0)
		return r;

	rq = api_request(&e, what, url, "PUT");
	rq.upload = data;
	rq.upload_size = size;
	rq.upload_type = "application/octet-stream";
	if (!same_origin) { /* our token and credentials stay with the registry */
		rq.authorize = NULL;
		rq.unauthorized = NULL;
	}
	r = push_request(&e, &rq, 201, &resp);
	http_response_done(&resp);
	return r;
}

int registry_has_manifest(struct registry *reg, const char *tag)
{
	struct registry_endpoint e;
	registry_endpoint(reg, &e);
	_cleanup_free_ char *url = NULL, *what = NULL;
	if (manifest_url(&e, tag, &url, &what) < 0)
		return -ENOMEM;
	struct http_response resp;
	struct http_request rq = api_request(&e, what, url, "HEAD");
	rq.accept = MANIFEST_ACCEPT;
	int r = http_get(e.http, &rq, &resp);
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
	if (manifest_url(&e, tag, &url, &what) < 0)
		return -ENOMEM;
	struct http_response resp;
	struct http_request rq = api_request(&e, what, url, "PUT");
	rq.upload = body;
	rq.upload_size = size;
	rq.upload_type = media_type;
	rq.header_name = "docker-content-digest";
	r = push_request(&e, &rq, 201, &resp);
	if (r >= 0 && resp.header && !streq(resp.header, digest))
		r = log_error_errno(-EBADMSG, "Registry %s stored %s as %s, but its bytes hash to %s", e.registry, what,
				    resp.header, digest);
	http_response_done(&resp);
	if (r >= 0 && ret_digest)
		memcpy(ret_digest, digest, DIGEST_STRING_MAX);
	return r;
}
