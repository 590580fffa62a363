/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP(S) requests (GETs; HEAD, POST and PUT of a small body for pushes)
 * to one server on libcurl: retries with backoff (5xx, 429,
 * timeouts, dropped connections), stall detection, redirects, a bounded
 * error body, and a download resumed with a Range request where it broke
 * off. It knows nothing of what it fetches: the caller says what a request
 * is for (in messages), how to authorize it, and where the body goes. An
 * http_client may be used by several threads at once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "membuf.h"

#define HTTP_ERROR_MAX 256 /* libcurl's CURL_ERROR_SIZE */

struct http_client_options {
	const char *peer;       /* the server as the user named it, for messages */
	bool insecure;          /* plain HTTP allowed, TLS not verified */
	const char *ca_file;    /* extra trust anchors, NULL for the system's */
	unsigned attempts;      /* per request; 0 means the default (5) */
	unsigned stall_seconds; /* abort a transfer this long without progress; 0: 30 */
};

struct http_client;
int http_client_new(const struct http_client_options *opts, struct http_client **ret);
struct http_client *http_client_free(struct http_client *c);
/* Response body bytes received so far by all of c's requests. */
uint64_t http_client_received(const struct http_client *c);

/* The last response of a request (a redirect chain's last hop). */
struct http_response {
	long status; /* 0: no HTTP answer */
	char *content_type;
	char *www_authenticate; /* the first challenge */
	char *header;           /* the value of the request's header_name */
	char *url;              /* where the request ended up, after redirects */
	int64_t content_length; /* as announced for this attempt; -1: unknown */
	uint64_t resumed_from;  /* a 206 answer's first byte */
	/* The server refused the request with status (4xx, or a 3xx/1xx/2xx
	 * other than 200 and 206 that has a body): not retried and not logged,
	 * for the caller to say what it means. */
	bool refused;
	char *error_body;           /* of such an answer, at most 64 KiB, NUL-terminated */
	char error[HTTP_ERROR_MAX]; /* libcurl's words for the last failure, "" if none */
};
void http_response_done(struct http_response *resp);

/* One attempt in flight, for http_exchange_set_auth(). */
struct http_exchange;

/* What to answer the server with. libcurl sends it only to the scheme, host
 * and port of the URL it is set for, never to a host a redirect leads to. */
struct http_auth {
	const char *username, *password; /* Basic */
	const char *bearer;              /* or a token */
};
void http_exchange_set_auth(struct http_exchange *x, const struct http_auth *auth);

struct http_request {
	const char *what; /* for messages: "manifest 1.0", "blob sha256:..." */
	const char *url;
	/* NULL: GET. "HEAD", or "POST"/"PUT" sending upload[0..upload_size)
	 * as upload_type. Those are never redirected (a body or a push is
	 * not sent to where a redirect points): a 3xx is a refusal. */
	const char *method;
	const void *upload;
	size_t upload_size;
	const char *upload_type;
	const char *accept;      /* the Accept header, or NULL */
	const char *header_name; /* one more response header to keep, or NULL */
	/* Basic credentials for the URL's origin (e.g. a token service). */
	const char *username, *password;
	/* Authorization set on each attempt; returns a generation that
	 * unauthorized() gets back. */
	unsigned (*authorize)(struct http_exchange *x, void *auth_ctx);
	/* A 401: answer resp's challenge and return 0 to try again (twice at
	 * most), or a negative errno (logged) to give up. Without it a 401 is a
	 * refusal. */
	int (*unauthorized)(void *auth_ctx, const struct http_response *resp, const char *what, unsigned generation);
	void *auth_ctx;
	bool quiet;        /* a probe: the caller handles failures */
	bool missing_ok;   /* a lookup: a 404 is an answer, not logged */
	unsigned attempts; /* 0: the client's default */
	int64_t max_size;  /* refuse bodies announced bigger; 0: no limit */
	bool document;     /* small (a manifest, a token): all of it within a few stall periods */
	/* A download that continues where an attempt broke off (Range); an
	 * attempt that got further earns a fresh set of attempts. payload gets
	 * each byte once, in order. */
	bool resume;
	/* Called once per attempt, when a 200 or 206 answer's body starts
	 * (resp->content_length and resumed_from are set); negative refuses. */
	int (*on_response)(void *ctx, const struct http_response *resp);
	int (*payload)(void *ctx, const void *data, size_t size); /* negative aborts */
	void (*before_attempt)(void *ctx);
	void *ctx;
};

/* Runs rq until it succeeds (any 2xx), fails for good, or runs out of
 * attempts. Failures are logged (unless quiet) naming the cause, except
 * resp->refused ones (-ENOENT for 404, -EACCES for 401 and 403, -EPROTO
 * else). resp is the caller's to http_response_done(). */
int http_get(struct http_client *c, const struct http_request *rq, struct http_response *resp);

/* http_get() with the body into body, emptied before each attempt; a body
 * past body->max is refused with -EFBIG (logged, even when quiet). */
int http_get_document(struct http_client *c, const struct http_request *rq, struct http_response *resp,
		      struct membuf *body);
