/* SPDX-License-Identifier: Apache-2.0 */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_retry.h"
#include "log.h"
#include "util.h"

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_STALL_SECONDS 30
/* Slower than this for stall_seconds is a stall: a server dripping a few
 * bytes a second would otherwise hold a pull for hours. */
#define STALL_BYTES_PER_SECOND 1024
/* A download attempt that got this much further earns a fresh set of
 * attempts; a few bytes before each stall or drop does not. */
#define PROGRESS_MIN (64 * 1024)
/* A document (manifest, token) is small: all of it must come within this
 * many stall timeouts, or a server dripping just over the stall limit holds
 * a 4 MiB manifest for an hour. (Blobs may be big and links slow: no total
 * limit.) */
#define DOCUMENT_STALL_PERIODS 4
#define MAX_REDIRECTS 5
#define ERROR_BODY_MAX (64 * 1024)
#define MIN_SIZE(a, b) ((a) < (b) ? (a) : (b))

_Static_assert(HTTP_ERROR_MAX == CURL_ERROR_SIZE, "HTTP_ERROR_MAX is libcurl's error buffer size");

struct http_client {
	char *peer;
	bool insecure;
	char *ca_file;
	unsigned attempts;
	unsigned stall_seconds;
	/* Connections, TLS sessions and DNS answers are shared by every
	 * request, so a layer download does not pay a new handshake. */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	/* Body bytes of every response, as they come off the wire (error
	 * bodies, resent bytes of a resume included): what the pull reports. */
	_Atomic uint64_t received;
};

/* Where a resumable download stands, across attempts. */
struct resume {
	uint64_t delivered; /* bytes handed to the payload */
	uint64_t delivered_at_attempt;
	uint64_t skip; /* a server that ignored our Range resends these */
};

/* One attempt. The headers of each response (a redirect chain has several)
 * replace those of the one before. */
struct http_exchange {
	struct http_client *client;
	const struct http_request *rq;
	struct http_response *resp;
	CURL *curl;
	char *content_range;
	char *retry_after;
	struct resume *resume; /* NULL unless rq->resume */
	bool body_started;
	bool body_is_error;
	bool error_body_full; /* we stopped reading an oversized error body */
	bool checked;         /* on_response() said yes to this attempt */
	size_t error_size;
	int payload_error;
};

static void response_reset_headers(struct http_response *resp)
{
	free(resp->content_type);
	free(resp->www_authenticate);
	free(resp->header);
	resp->content_type = resp->www_authenticate = resp->header = NULL;
}

void http_response_done(struct http_response *resp)
{
	response_reset_headers(resp);
	free(resp->url);
	free(resp->error_body);
	resp->url = resp->error_body = NULL;
}

static void exchange_reset_headers(struct http_exchange *x)
{
	response_reset_headers(x->resp);
	free(x->content_range);
	free(x->retry_after);
	x->content_range = x->retry_after = NULL;
}

static void exchange_done(struct http_exchange *x)
{
	exchange_reset_headers(x);
	if (x->curl)
		curl_easy_cleanup(x->curl);
	x->curl = NULL;
}

static char *header_value(const char *line, size_t size, const char *name)
{
	size_t n = strlen(name);
	if (size <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	const char *v = line + n + 1, *end = line + size;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return strndup(v, end - v);
}

static size_t on_header(char *line, size_t one, size_t size, void *userdata)
{
	struct http_exchange *x = userdata;
	(void) one;
	if (size >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		exchange_reset_headers(x);
		return size;
	}
	struct {
		const char *name;
		char **slot;
	} wanted[] = {
		{ "content-type", &x->resp->content_type }, { "www-authenticate", &x->resp->www_authenticate },
		{ "content-range", &x->content_range },     { "retry-after", &x->retry_after },
		{ x->rq->header_name, &x->resp->header },
	};
	for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
		char *v = wanted[i].name ? header_value(line, size, wanted[i].name) : NULL;
		if (v) {
			/* Keep the first Bearer challenge; registries send one. */
			if (*wanted[i].slot)
				free(v);
			else
				*wanted[i].slot = v;
		}
	}
	return size;
}

/* The first bytes of a 200 or 206 answer: where a resumed download picks
 * up, and whether the caller takes it. */
static int check_response(struct http_exchange *x)
{
	struct http_response *resp = x->resp;
	curl_off_t length = -1;
	curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
	resp->content_length = length;
	resp->resumed_from = 0;
	if (x->resume && x->resp->status == 206) {
		/* "bytes START-END/TOTAL": START must be where we stopped. */
		const char *p =
			x->content_range && strncmp(x->content_range, "bytes ", 6) == 0 ? x->content_range + 6 : NULL;
		char *end = NULL;
		unsigned long long start = p ? strtoull(p, &end, 10) : 0;
		if (!p || end == p || *end != '-' || start != x->resume->delivered)
			return log_error_errno(-EPROTO, "Registry %s resumed %s at the wrong offset", x->client->peer,
					       x->rq->what);
		resp->resumed_from = start;
	} else if (x->resume)
		x->resume->skip = x->resume->delivered;
	return x->rq->on_response ? x->rq->on_response(x->rq->ctx, resp) : 0;
}

static int deliver(struct http_exchange *x, const char *data, size_t size)
{
	if (!x->checked) {
		int r = check_response(x);
		if (r < 0)
			return r;
		x->checked = true;
	}
	struct resume *rs = x->resume;
	if (rs) {
		size_t drop = MIN_SIZE((uint64_t) size, rs->skip);
		data += drop;
		size -= drop;
		rs->skip -= drop;
		if (size == 0)
			return 0;
	}
	int r = x->rq->payload ? x->rq->payload(x->rq->ctx, data, size) : 0;
	if (r >= 0 && rs)
		rs->delivered += size;
	return r;
}

static size_t on_body(char *data, size_t one, size_t size, void *userdata)
{
	struct http_exchange *x = userdata;
	struct http_response *resp = x->resp;
	(void) one;
	x->client->received += size;
	if (!x->body_started) {
		x->body_started = true;
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		x->body_is_error = resp->status != 200 && resp->status != 206;
	}
	if (x->body_is_error) {
		/* The status says it all: never read an endless error body to its end. */
		if (x->error_size == ERROR_BODY_MAX) {
			x->error_body_full = true;
			return 0;
		}
		size_t take = MIN_SIZE(size, ERROR_BODY_MAX - x->error_size);
		char *p = realloc(resp->error_body, x->error_size + take + 1);
		if (!p)
			return 0;
		memcpy(p + x->error_size, data, take);
		x->error_size += take;
		p[x->error_size] = '\0';
		resp->error_body = p;
		return size;
	}
	int r = deliver(x, data, size);
	if (r < 0) {
		x->payload_error = r;
		return 0;
	}
	return size;
}

static const char *protocols(const struct http_client *c)
{
	return c->insecure ? "http,https" : "https";
}

static int exchange_setup(struct http_exchange *x, struct curl_slist *headers, char *errbuf)
{
	const struct http_client *cl = x->client;
	const struct http_request *rq = x->rq;
	CURL *c = x->curl = curl_easy_init();
	if (!c)
		return -ENOMEM;
	bool ok = curl_easy_setopt(c, CURLOPT_URL, rq->url) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols(cl)) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols(cl)) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long) MAX_REDIRECTS) == CURLE_OK &&
		  /* The digest covers the bytes as stored: never let curl decode them. */
		  curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long) STALL_BYTES_PER_SECOND) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long) cl->stall_seconds) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_USERAGENT, "kairos-upgrade") == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_SHARE, cl->share) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_HEADERDATA, x) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_WRITEDATA, x) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
	if (ok && rq->method) {
		/* A push is never redirected: the body goes where it was meant to. */
		ok = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
		if (ok && streq(rq->method, "HEAD"))
			ok = curl_easy_setopt(c, CURLOPT_NOBODY, 1L) == CURLE_OK;
		else if (ok)
			ok = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method) == CURLE_OK &&
			     curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) rq->upload_size) ==
				     CURLE_OK &&
			     curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->upload ?: "") == CURLE_OK;
	}
	if (ok && rq->max_size > 0)
		ok = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) rq->max_size) == CURLE_OK;
	if (ok && rq->document)
		ok = curl_easy_setopt(c, CURLOPT_TIMEOUT, (long) (cl->stall_seconds * DOCUMENT_STALL_PERIODS)) ==
		     CURLE_OK;
	if (ok && cl->insecure)
		ok = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
		     curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
	if (ok && cl->ca_file)
		ok = curl_easy_setopt(c, CURLOPT_CAINFO, cl->ca_file) == CURLE_OK;
	/* libcurl sends credentials (Basic, and a token set as
	 * CURLOPT_XOAUTH2_BEARER) only to the scheme, host and port they were
	 * set for, never to a redirect target elsewhere, as long as
	 * CURLOPT_UNRESTRICTED_AUTH stays off: blobs served from a CDN get no
	 * Authorization header. Never put credentials in CURLOPT_HTTPHEADER:
	 * those go to every host. */
	if (ok)
		ok = curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L) == CURLE_OK;
	if (ok && rq->username)
		ok = curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC) == CURLE_OK &&
		     curl_easy_setopt(c, CURLOPT_USERNAME, rq->username) == CURLE_OK &&
		     curl_easy_setopt(c, CURLOPT_PASSWORD, rq->password) == CURLE_OK;
	return ok ? 0 : -EINVAL;
}

void http_exchange_set_auth(struct http_exchange *x, const struct http_auth *auth)
{
	if (auth->bearer) {
		curl_easy_setopt(x->curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BEARER);
		curl_easy_setopt(x->curl, CURLOPT_XOAUTH2_BEARER, auth->bearer);
	} else if (auth->username) {
		curl_easy_setopt(x->curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		curl_easy_setopt(x->curl, CURLOPT_USERNAME, auth->username);
		curl_easy_setopt(x->curl, CURLOPT_PASSWORD, auth->password);
	}
}

static void before_attempt(struct http_exchange *x)
{
	struct resume *rs = x->resume;
	if (rs) {
		rs->skip = 0;
		rs->delivered_at_attempt = rs->delivered;
		if (rs->delivered > 0) {
			char range[64];
			snprintf(range, sizeof(range), "%llu-", (unsigned long long) rs->delivered);
			curl_easy_setopt(x->curl, CURLOPT_RANGE, range);
		}
	}
	if (x->rq->before_attempt)
		x->rq->before_attempt(x->rq->ctx);
}

/* The last attempt failed for a reason worth retrying and none are left. */
static void log_gave_up(const struct http_exchange *x, int r, unsigned tried, const char *errbuf)
{
	const struct http_client *c = x->client;
	const struct http_request *rq = x->rq;
	const struct http_response *resp = x->resp;
	if (r == -EAGAIN)
		log_error("Registry %s kept failing for %s (HTTP %ld) after %u attempts; try "
			  "again later",
			  c->peer, rq->what, resp->status, tried);
	else if (r == -ETIMEDOUT && resp->status != 0 && rq->document && strstr(resp->error, "timed out after"))
		log_error("Registry %s was too slow sending %s, %u attempts in a row (%s): it must "
			  "come within %u s (%u stall timeouts); check the network, or allow more "
			  "with --stall-timeout",
			  c->peer, rq->what, tried, resp->error, c->stall_seconds * DOCUMENT_STALL_PERIODS,
			  DOCUMENT_STALL_PERIODS);
	else if (r == -ETIMEDOUT && resp->status != 0)
		log_error("Registry %s stalled sending %s, %u attempts in a row (%s): check the "
			  "network, or allow longer stalls with --stall-timeout",
			  c->peer, rq->what, tried, resp->error);
	else if (resp->status != 0)
		log_error("Registry %s kept breaking off %s, %u attempts in a row (%s); try again "
			  "later",
			  c->peer, rq->what, tried, resp->error);
	else
		log_error("Cannot reach registry %s for %s after %u attempts: %s; check the "
			  "address and that the registry is up",
			  c->peer, rq->what, tried, *errbuf ? errbuf : "connection failed");
}

int http_get(struct http_client *c, const struct http_request *rq, struct http_response *resp)
{
	unsigned attempts = rq->attempts ?: c->attempts;
	unsigned auth_rounds = 0, total = 0;
	struct curl_slist *headers = NULL;
	_cleanup_free_ char *accept = NULL, *upload_type = NULL;
	int r;
	*resp = (struct http_response){ .content_length = -1 };
	if (rq->accept) {
		if (asprintf(&accept, "Accept: %s", rq->accept) < 0)
			return -ENOMEM;
		headers = curl_slist_append(NULL, accept);
		if (!headers)
			return -ENOMEM;
	}
	if (rq->method && !streq(rq->method, "HEAD")) {
		/* Not libcurl's form type; no "Expect: 100-continue" round trip. */
		if (asprintf(&upload_type, "Content-Type: %s", rq->upload_type ?: "application/octet-stream") < 0)
			upload_type = NULL;
		const char *more[] = { upload_type, "Expect:" };
		for (size_t i = 0; i < ELEMENTSOF(more); i++) {
			struct curl_slist *h = more[i] ? curl_slist_append(headers, more[i]) : NULL;
			if (!h) {
				curl_slist_free_all(headers);
				return -ENOMEM;
			}
			headers = h;
		}
	}
	struct resume resume = {};
	struct http_exchange x = { .client = c, .rq = rq, .resp = resp };
	for (unsigned attempt = 0;; attempt++, total++) {
		char errbuf[CURL_ERROR_SIZE] = "";
		exchange_done(&x);
		http_response_done(resp);
		*resp = (struct http_response){ .content_length = -1 };
		x = (struct http_exchange){
			.client = c, .rq = rq, .resp = resp, .resume = rq->resume ? &resume : NULL
		};
		r = exchange_setup(&x, headers, errbuf);
		if (r < 0)
			break;
		unsigned generation = rq->authorize ? rq->authorize(&x, rq->auth_ctx) : 0;
		before_attempt(&x);

		CURLcode code = curl_easy_perform(x.curl);
		curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &resp->status);
		const char *effective = NULL;
		if (curl_easy_getinfo(x.curl, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
			resp->url = strdup(effective);
		if (code == CURLE_WRITE_ERROR && x.error_body_full)
			code = CURLE_OK; /* we cut the error body short; the status stands */
		if (code != CURLE_OK)
			snprintf(resp->error, sizeof(resp->error), "%s", *errbuf ? errbuf : curl_easy_strerror(code));
		bool retry = false;
		if (x.payload_error) {
			r = x.payload_error;
			break;
		}
		if (code != CURLE_OK) {
			const char *detail = *errbuf ? errbuf : curl_easy_strerror(code);
			if (http_curl_error_is_transient(code)) {
				r = code == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
				if (!rq->quiet)
					log_debug("Fetching %s from %s failed (%s), attempt %u of %u", rq->what,
						  c->peer, detail, attempt + 1, attempts);
				retry = true;
			} else if (code == CURLE_FILESIZE_EXCEEDED) {
				r = -EFBIG;
				if (!rq->quiet)
					log_error("Registry %s announced %s bigger than the %lld bytes we accept: "
						  "refusing it",
						  c->peer, rq->what, (long long) rq->max_size);
				break;
			} else {
				const char *hint;
				r = http_curl_error_to_errno(code, &hint);
				if (!rq->quiet)
					log_error("Cannot fetch %s from %s: %s%s", rq->what, c->peer, detail, hint);
				break;
			}
		} else if (resp->status >= 200 && resp->status < 300) {
			r = 0;
			break;
		} else if (resp->status == 401 && rq->unauthorized && auth_rounds < 2) {
			auth_rounds++;
			r = rq->unauthorized(rq->auth_ctx, resp, rq->what, generation);
			if (r < 0)
				break;
			attempt--; /* a new token is not a failed attempt */
			continue;
		} else if (http_status_is_transient(resp->status)) {
			r = -EAGAIN;
			if (!rq->quiet)
				log_debug("Fetching %s from %s: HTTP %ld, attempt %u of %u", rq->what, c->peer,
					  resp->status, attempt + 1, attempts);
			retry = true;
		} else {
			r = resp->status == 404                          ? -ENOENT
			    : resp->status == 401 || resp->status == 403 ? -EACCES
									 : -EPROTO;
			resp->refused = true;
			break;
		}

		if (!retry)
			break;
		if (x.resume && resume.delivered - resume.delivered_at_attempt >= PROGRESS_MIN)
			attempt = 0; /* moving forward: keep going */
		if (attempt + 1 >= attempts || total >= attempts * 4) {
			if (!rq->quiet)
				log_gave_up(&x, r, attempt + 1, errbuf);
			if (r == -EAGAIN)
				r = -EPROTO;
			break;
		}
		http_backoff(attempt, x.retry_after);
	}
	/* The response stays; the handle and the headers only we read go. */
	free(x.content_range);
	free(x.retry_after);
	if (x.curl)
		curl_easy_cleanup(x.curl);
	curl_slist_free_all(headers);
	return r;
}

/* A document's body, bounded. */
struct document {
	const struct http_client *client;
	const char *what;
	struct membuf *body;
};

static int document_payload(void *ctx, const void *data, size_t size)
{
	struct document *d = ctx;
	int r = membuf_append(d->body, data, size);
	if (r == -EFBIG)
		return log_error_errno(r, "Registry %s sent more than %zu bytes for %s: refusing it", d->client->peer,
				       d->body->max, d->what ?: "a response");
	return r;
}

static void document_reset(void *ctx)
{
	struct document *d = ctx;
	membuf_reset(d->body);
}

int http_get_document(struct http_client *c, const struct http_request *rq, struct http_response *resp,
		      struct membuf *body)
{
	struct document d = { .client = c, .what = rq->what, .body = body };
	struct http_request q = *rq;
	q.payload = document_payload;
	q.before_attempt = document_reset;
	q.ctx = &d;
	return http_get(c, &q, resp);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *userdata)
{
	struct http_client *cl = userdata;
	(void) c;
	(void) access;
	pthread_mutex_lock(&cl->share_locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *userdata)
{
	struct http_client *cl = userdata;
	(void) c;
	pthread_mutex_unlock(&cl->share_locks[data]);
}

static CURLSH *share_new(struct http_client *cl)
{
	CURLSH *sh = curl_share_init();
	if (!sh)
		return NULL;
	if (curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_USERDATA, cl) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
		curl_share_cleanup(sh);
		return NULL;
	}
	return sh;
}

int http_client_new(const struct http_client_options *opts, struct http_client **ret)
{
	struct http_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(c->share_locks); i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	c->share = share_new(c);
	c->insecure = opts->insecure;
	c->attempts = opts->attempts ?: DEFAULT_ATTEMPTS;
	c->stall_seconds = opts->stall_seconds ?: DEFAULT_STALL_SECONDS;
	c->peer = strdup(opts->peer);
	c->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
	if (!c->share || !c->peer || (opts->ca_file && !c->ca_file)) {
		http_client_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

uint64_t http_client_received(const struct http_client *c)
{
	return c->received;
}

struct http_client *http_client_free(struct http_client *c)
{
	if (!c)
		return NULL;
	free(c->peer);
	free(c->ca_file);
	if (c->share)
		curl_share_cleanup(c->share);
	for (size_t i = 0; i < ELEMENTSOF(c->share_locks); i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	free(c);
	return NULL;
}
