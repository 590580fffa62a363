/* SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "pull_source.h"
#include "util.h"

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_STALL_SECONDS 30
/* Slower than this for stall_seconds is a stall: a server dripping a few
 * bytes a second would otherwise hold a pull for hours. */
#define STALL_BYTES_PER_SECOND 1024
/* A blob attempt that got this much further earns a fresh set of attempts;
 * a few bytes before each stall or drop does not. */
#define PROGRESS_MIN (64 * 1024)
/* A manifest or token is small: all of it must come within this many stall
 * timeouts, or a server dripping just over the stall limit holds a 4 MiB
 * manifest for an hour. (Blobs may be big and links slow: no total limit.) */
#define DOCUMENT_STALL_PERIODS 4
#define MAX_REDIRECTS 5
#define ERROR_BODY_MAX (64 * 1024)
#define TOKEN_BODY_MAX (1024 * 1024)
#define MIN_SIZE(a, b) ((a) < (b) ? (a) : (b))

struct registry {
	char *registry;   /* as the user named it, for messages */
	char *name;       /* "registry HOST" */
	char *repository;
	char *base;       /* "https://host" */
	bool insecure;
	char *ca_file;
	unsigned attempts;
	unsigned stall_seconds;
	struct credentials creds; /* empty when anonymous */

	/* Connections, TLS sessions and DNS answers are shared by every
	 * request, so a layer download does not pay a new handshake. */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	/* Shared by the download threads; a 401 on any of them refreshes it. */
	pthread_mutex_t lock;
	enum auth_scheme scheme;
	char *token;
	unsigned auth_generation;
};

/* One HTTP exchange. The headers of each response (a redirect chain has
 * several) replace those of the one before. */
struct exchange {
	struct registry *reg;
	CURL *curl;
	long status;
	char *content_type;
	char *www_authenticate;
	char *content_range;
	char *docker_digest;
	char *retry_after;
	bool body_started;
	bool body_is_error;
	bool error_body_full; /* we stopped reading an oversized error body */
	/* Error bodies are kept (bounded) for the registry's error code. */
	char *error_body;
	size_t error_size;
	/* The payload goes here when the status says success. */
	int (*payload)(struct exchange *x, const char *data, size_t size);
	void *payload_ctx;
	int payload_error;
	char error[CURL_ERROR_SIZE]; /* libcurl's words for the last failure */
};

static void exchange_reset_headers(struct exchange *x)
{
	free(x->content_type);
	free(x->www_authenticate);
	free(x->content_range);
	free(x->docker_digest);
	free(x->retry_after);
	x->content_type = x->www_authenticate = x->content_range = x->docker_digest = x->retry_after = NULL;
}

static void exchange_done(struct exchange *x)
{
	exchange_reset_headers(x);
	free(x->error_body);
	x->error_body = NULL;
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
	struct exchange *x = userdata;
	(void)one;
	if (size >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		exchange_reset_headers(x);
		return size;
	}
	struct {
		const char *name;
		char **slot;
	} wanted[] = {
		{ "content-type", &x->content_type },
		{ "www-authenticate", &x->www_authenticate },
		{ "content-range", &x->content_range },
		{ "docker-content-digest", &x->docker_digest },
		{ "retry-after", &x->retry_after },
	};
	for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
		char *v = header_value(line, size, wanted[i].name);
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

static size_t on_body(char *data, size_t one, size_t size, void *userdata)
{
	struct exchange *x = userdata;
	(void)one;
	if (!x->body_started) {
		x->body_started = true;
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
		x->body_is_error = x->status != 200 && x->status != 206;
	}
	if (x->body_is_error) {
		/* The status says it all: never read an endless error body to its end. */
		if (x->error_size == ERROR_BODY_MAX) {
			x->error_body_full = true;
			return 0;
		}
		size_t take = MIN_SIZE(size, ERROR_BODY_MAX - x->error_size);
		char *p = realloc(x->error_body, x->error_size + take + 1);
		if (!p)
			return 0;
		memcpy(p + x->error_size, data, take);
		x->error_size += take;
		p[x->error_size] = '\0';
		x->error_body = p;
		return size;
	}
	int r = x->payload ? x->payload(x, data, size) : 0;
	if (r < 0) {
		x->payload_error = r;
		return 0;
	}
	return size;
}

/* What one call of request_run() asks for. */
struct request {
	const char *what; /* for messages: "manifest 1.0", "blob sha256:..." */
	const char *url;
	const char *accept;
	bool registry_auth;  /* answer with the registry's token or Basic credentials */
	bool realm_auth;     /* the token endpoint: Basic credentials, if any */
	bool quiet;          /* a probe: the caller handles failures */
	unsigned attempts;   /* 0: the registry's default */
	curl_off_t max_size; /* refuse bodies announced bigger; 0: no limit */
	bool document;       /* a manifest or token: DOCUMENT_STALL_PERIODS in all */
	/* Called before each attempt, e.g. to ask for the rest of a blob. */
	void (*before_attempt)(struct exchange *x, void *ctx);
	/* Whether the last attempt made progress (resets the attempt count). */
	bool (*progressed)(void *ctx);
};

static const char *protocols(const struct registry *reg)
{
	return reg->insecure ? "http,https" : "https";
}

static int exchange_setup(struct registry *reg, struct exchange *x, const struct request *rq,
			  struct curl_slist *headers, char *errbuf)
{
	CURL *c = x->curl = curl_easy_init();
	if (!c)
		return -ENOMEM;
	x->reg = reg;
	bool ok = curl_easy_setopt(c, CURLOPT_URL, rq->url) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols(reg)) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols(reg)) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS) == CURLE_OK &&
		  /* The digest covers the bytes as stored: never let curl decode them. */
		  curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)STALL_BYTES_PER_SECOND) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)reg->stall_seconds) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_USERAGENT, "kairos-upgrade") == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_SHARE, reg->share) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_HEADERDATA, x) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_WRITEDATA, x) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
	if (ok && rq->max_size > 0)
		ok = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, rq->max_size) == CURLE_OK;
	if (ok && rq->document)
		ok = curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(reg->stall_seconds * DOCUMENT_STALL_PERIODS)) == CURLE_OK;
	if (ok && reg->insecure)
		ok = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
		     curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
	if (ok && reg->ca_file)
		ok = curl_easy_setopt(c, CURLOPT_CAINFO, reg->ca_file) == CURLE_OK;
	/* libcurl sends credentials (Basic, and a token set as
	 * CURLOPT_XOAUTH2_BEARER) only to the scheme, host and port they were
	 * set for, never to a redirect target elsewhere, as long as
	 * CURLOPT_UNRESTRICTED_AUTH stays off: blobs served from a CDN get no
	 * Authorization header. Never put credentials in CURLOPT_HTTPHEADER:
	 * those go to every host. */
	if (ok)
		ok = curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L) == CURLE_OK;
	if (ok && rq->realm_auth && reg->creds.username)
		ok = curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) == CURLE_OK &&
		     curl_easy_setopt(c, CURLOPT_USERNAME, reg->creds.username) == CURLE_OK &&
		     curl_easy_setopt(c, CURLOPT_PASSWORD, reg->creds.password) == CURLE_OK;
	return ok ? 0 : -EINVAL;
}

/* Sets the current registry authorization on x; returns its generation. */
static unsigned apply_registry_auth(struct registry *reg, struct exchange *x)
{
	pthread_mutex_lock(&reg->lock);
	unsigned generation = reg->auth_generation;
	if (reg->scheme == AUTH_SCHEME_BEARER && reg->token) {
		curl_easy_setopt(x->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(x->curl, CURLOPT_XOAUTH2_BEARER, reg->token);
	} else if (reg->scheme == AUTH_SCHEME_BASIC && reg->creds.username) {
		curl_easy_setopt(x->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(x->curl, CURLOPT_USERNAME, reg->creds.username);
		curl_easy_setopt(x->curl, CURLOPT_PASSWORD, reg->creds.password);
	}
	pthread_mutex_unlock(&reg->lock);
	return generation;
}

static bool curl_error_is_transient(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* Final (non-transient) failures: an errno and a hint for the message.
 * A failed handshake is often a plain-HTTP server; a refused certificate
 * is a question of trust. */
static int curl_error_to_errno(CURLcode code, const char **ret_hint)
{
	switch (code) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		*ret_hint = " (for a private CA use --ca-file; --insecure skips verification)";
		return -EPERM;
	case CURLE_SSL_CONNECT_ERROR:
		*ret_hint = " (TLS handshake failed; a plain-HTTP registry needs --insecure)";
		return -ECONNABORTED;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_TOO_MANY_REDIRECTS:
		*ret_hint = " (redirect refused: too many, or to a protocol not allowed)";
		return -EPROTO;
	default:
		*ret_hint = "";
		return -EIO;
	}
}

static bool status_is_transient(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* "MANIFEST_UNKNOWN: manifest unknown" from a distribution error body,
 * cut short (the logger shows it in its printable form). */
static char *registry_error_text(const struct exchange *x)
{
	if (!x->error_body)
		return NULL;
	json_error_t error;
	json_t *root = json_loads(x->error_body, 0, &error);
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

static int authenticate(struct registry *reg, const char *www_authenticate, const char *challenger, const char *what,
			unsigned generation);

/* Waits before the next attempt: what Retry-After asks (within reason),
 * else exponentially longer from half a second. */
static void backoff(unsigned attempt, const char *retry_after)
{
	unsigned ms = 500u << MIN_SIZE(attempt, 4u);
	if (retry_after) {
		char *end;
		errno = 0;
		unsigned long seconds = strtoul(retry_after, &end, 10);
		if (errno == 0 && end != retry_after && *end == '\0' && seconds <= 60)
			ms = (unsigned)seconds * 1000u;
	}
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Runs rq until it succeeds (2xx), fails for good, or runs out of
 * attempts; 5xx, 429, timeouts and dropped connections are retried with
 * backoff, a 401 re-authenticates. Failures are logged (unless quiet),
 * naming the cause. x keeps the last response's headers. */
static int request_run(struct registry *reg, const struct request *rq, struct exchange *x,
		       int (*payload)(struct exchange *x, const char *data, size_t size), void *payload_ctx)
{
	unsigned attempts = rq->attempts ?: reg->attempts;
	unsigned auth_rounds = 0, total = 0;
	struct curl_slist *headers = NULL;
	_cleanup_free_ char *accept = NULL;
	if (rq->accept) {
		if (asprintf(&accept, "Accept: %s", rq->accept) < 0)
			return -ENOMEM;
		headers = curl_slist_append(NULL, accept);
		if (!headers)
			return -ENOMEM;
	}
	int r;
	for (unsigned attempt = 0;; attempt++, total++) {
		char errbuf[CURL_ERROR_SIZE] = "";
		exchange_done(x);
		*x = (struct exchange){ .payload = payload, .payload_ctx = payload_ctx };
		r = exchange_setup(reg, x, rq, headers, errbuf);
		if (r < 0)
			break;
		unsigned generation = rq->registry_auth ? apply_registry_auth(reg, x) : 0;
		if (rq->before_attempt)
			rq->before_attempt(x, payload_ctx);

		CURLcode code = curl_easy_perform(x->curl);
		curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
		if (code == CURLE_WRITE_ERROR && x->error_body_full)
			code = CURLE_OK; /* we cut the error body short; the status stands */
		if (code != CURLE_OK)
			snprintf(x->error, sizeof(x->error), "%s", *errbuf ? errbuf : curl_easy_strerror(code));
		bool retry = false;
		if (x->payload_error) {
			r = x->payload_error;
			break;
		}
		if (code != CURLE_OK) {
			const char *detail = *errbuf ? errbuf : curl_easy_strerror(code);
			if (curl_error_is_transient(code)) {
				r = code == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
				if (!rq->quiet)
					log_debug("Fetching %s from %s failed (%s), attempt %u of %u", rq->what,
						  reg->registry, detail, attempt + 1, attempts);
				retry = true;
			} else if (code == CURLE_FILESIZE_EXCEEDED) {
				r = -EFBIG;
				if (!rq->quiet)
					log_error("Registry %s announced %s bigger than the %lld bytes we accept: "
						  "refusing it",
						  reg->registry, rq->what, (long long)rq->max_size);
				break;
			} else {
				const char *hint;
				r = curl_error_to_errno(code, &hint);
				if (!rq->quiet)
					log_error("Cannot fetch %s from %s: %s%s", rq->what, reg->registry, detail, hint);
				break;
			}
		} else if (x->status >= 200 && x->status < 300) {
			r = 0;
			break;
		} else if (x->status == 401 && rq->registry_auth && auth_rounds < 2) {
			auth_rounds++;
			const char *challenger = NULL;
			curl_easy_getinfo(x->curl, CURLINFO_EFFECTIVE_URL, &challenger);
			r = authenticate(reg, x->www_authenticate, challenger, rq->what, generation);
			if (r < 0)
				break;
			attempt--; /* a new token is not a failed attempt */
			continue;
		} else if (status_is_transient(x->status)) {
			r = -EAGAIN;
			if (!rq->quiet)
				log_debug("Fetching %s from %s: HTTP %ld, attempt %u of %u", rq->what, reg->registry,
					  x->status, attempt + 1, attempts);
			retry = true;
		} else {
			_cleanup_free_ char *text = registry_error_text(x);
			r = x->status == 404 ? -ENOENT : x->status == 401 || x->status == 403 ? -EACCES : -EPROTO;
			if (!rq->quiet) {
				if (r == -ENOENT)
					log_error("%s not found in %s/%s (%s): check the image name and tag; a private "
						  "image may also need credentials",
						  rq->what, reg->registry, reg->repository, text ?: "HTTP 404");
				else if (r == -EACCES)
					log_error("Registry %s refused access to %s (%s): check --creds or the "
						  "credentials file ($REGISTRY_AUTH_FILE, ~/.docker/config.json)",
						  reg->registry, rq->what, text ?: x->status == 401 ? "HTTP 401" : "HTTP 403");
				else
					log_error("Registry %s answered HTTP %ld for %s%s%s", reg->registry, x->status,
						  rq->what, text ? ": " : "", text ?: "");
			}
			break;
		}

		if (!retry)
			break;
		if (rq->progressed && rq->progressed(payload_ctx))
			attempt = 0; /* moving forward: keep going */
		if (attempt + 1 >= attempts || total >= attempts * 4) {
			if (!rq->quiet) {
				if (r == -EAGAIN)
					log_error("Registry %s kept failing for %s (HTTP %ld) after %u attempts; try "
						  "again later",
						  reg->registry, rq->what, x->status, attempt + 1);
				else if (r == -ETIMEDOUT && x->status != 0 && rq->document &&
					 strstr(x->error, "timed out after"))
					log_error("Registry %s was too slow sending %s, %u attempts in a row (%s): it must "
						  "come within %u s (%u stall timeouts); check the network, or allow more "
						  "with --stall-timeout",
						  reg->registry, rq->what, attempt + 1, x->error,
						  reg->stall_seconds * DOCUMENT_STALL_PERIODS, DOCUMENT_STALL_PERIODS);
				else if (r == -ETIMEDOUT && x->status != 0)
					log_error("Registry %s stalled sending %s, %u attempts in a row (%s): check the "
						  "network, or allow longer stalls with --stall-timeout",
						  reg->registry, rq->what, attempt + 1, x->error);
				else if (x->status != 0)
					log_error("Registry %s kept breaking off %s, %u attempts in a row (%s); try again "
						  "later",
						  reg->registry, rq->what, attempt + 1, x->error);
				else
					log_error("Cannot reach registry %s for %s after %u attempts: %s; check the "
						  "address and that the registry is up",
						  reg->registry, rq->what, attempt + 1,
						  *errbuf ? errbuf : "connection failed");
			}
			if (r == -EAGAIN)
				r = -EPROTO;
			break;
		}
		backoff(attempt, x->retry_after);
	}
	curl_slist_free_all(headers);
	return r;
}

/* Bodies small enough for memory: manifests, tokens, probes. */
struct membuf {
	char *data;
	size_t size, max;
	const char *what; /* for messages */
};

static int membuf_payload(struct exchange *x, const char *data, size_t size)
{
	struct membuf *m = x->payload_ctx;
	if (size > m->max - m->size)
		return log_error_errno(-EFBIG, "Registry %s sent more than %zu bytes for %s: refusing it",
				       x->reg->registry, m->max, m->what ?: "a response");
	char *p = realloc(m->data, m->size + size + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + m->size, data, size);
	m->size += size;
	p[m->size] = '\0';
	m->data = p;
	return 0;
}

static void membuf_reset(struct exchange *x, void *ctx)
{
	(void)x;
	struct membuf *m = ctx;
	free(m->data);
	m->data = NULL;
	m->size = 0;
}

static int fetch_token(struct registry *reg, const struct auth_challenge *c)
{
	/* Credentials go to the realm only, and never in clear text unless the
	 * registry itself is plain http. */
	int r = auth_realm_check(reg->base, c->realm);
	/* -EACCES: refusals, not reasons to try the registry over plain http. */
	if (r == -EPROTO)
		return log_error_errno(-EACCES,
				       "Registry %s, reached over HTTPS, wants tokens from a plain-HTTP realm; refusing to "
				       "send %s there",
				       reg->registry, reg->creds.username ? "the credentials" : "a token request");
	if (r < 0)
		return log_error_errno(-EACCES, "Registry %s names a token service that is not an http(s) URL",
				       reg->registry);

	_cleanup_free_ char *default_scope = NULL;
	if (asprintf(&default_scope, "repository:%s:pull", reg->repository) < 0)
		return -ENOMEM;
	CURL *esc = curl_easy_init();
	if (!esc)
		return -ENOMEM;
	char *service = c->service ? curl_easy_escape(esc, c->service, 0) : NULL;
	char *scope = curl_easy_escape(esc, c->scope ?: default_scope, 0);
	_cleanup_free_ char *url = NULL;
	r = asprintf(&url, "%s%c%s%s%sscope=%s", c->realm, strchr(c->realm, '?') ? '&' : '?',
		     service ? "service=" : "", service ?: "", service ? "&" : "", scope ?: "");
	curl_free(service);
	curl_free(scope);
	curl_easy_cleanup(esc);
	if (r < 0)
		return -ENOMEM;

	struct membuf body = { .max = TOKEN_BODY_MAX, .what = "an access token" };
	struct exchange x = {};
	struct request rq = {
		.what = "an access token",
		.url = url,
		.realm_auth = true,
		.quiet = true,
		.document = true,
		.before_attempt = membuf_reset,
	};
	r = request_run(reg, &rq, &x, membuf_payload, &body);
	long status = x.status;
	exchange_done(&x);
	if (r >= 0) {
		char *token = NULL;
		r = auth_token_parse(body.data, body.size, &token, NULL);
		if (r < 0)
			log_error("The token service of %s sent a malformed answer", reg->registry);
		else {
			free(reg->token);
			reg->token = token;
			reg->scheme = AUTH_SCHEME_BEARER;
		}
	} else if (status == 401 || status == 403)
		r = log_error_errno(-EACCES, "Registry %s refused %s: %s", reg->registry,
				    reg->creds.username ? "the credentials" : "anonymous access",
				    reg->creds.username ? "check --creds or the credentials file"
							: "pass --creds USER:PASS or log in with docker/podman");
	else
		r = log_error_errno(r, "Cannot get an access token for %s from its token service: %m", reg->registry);
	free(body.data);
	return r;
}

/* Answers a challenge that the response to a request for what, from
 * challenger (its URL after redirects), carried. Several threads may hit the
 * same expired token: only the first refreshes it, the others retry with the
 * new one. */
static int authenticate(struct registry *reg, const char *www_authenticate, const char *challenger, const char *what,
			unsigned generation)
{
	/* Only the registry's own challenges are answered: answering one from a
	 * host a redirect led to would hand it (or the realm it names) the
	 * registry's credentials, and libcurl would send the token it buys to
	 * the registry, never to that host. */
	if (!auth_same_origin(challenger, reg->base)) {
		_cleanup_free_ char *origin = auth_url_origin(challenger);
		return log_error_errno(-EACCES, "%s, where registry %s redirected %s, asks for authentication: refusing "
						"to answer it (the registry's credentials and tokens go only to the "
						"registry and the token service it names)",
				       origin ?: "another host", reg->registry, what);
	}
	pthread_mutex_lock(&reg->lock);
	int r = 0;
	if (generation != reg->auth_generation)
		goto out;

	struct auth_challenge c = {};
	r = www_authenticate ? auth_challenge_parse(www_authenticate, &c) : -EBADMSG;
	if (r < 0) {
		r = log_error_errno(-EACCES, "Registry %s requires authentication with a challenge we cannot answer",
				    reg->registry);
		goto out;
	}
	if (c.scheme == AUTH_SCHEME_BASIC) {
		if (!reg->creds.username)
			r = log_error_errno(-EACCES, "Registry %s requires credentials: pass --creds USER:PASS or "
						     "log in with docker/podman",
					    reg->registry);
		else if (reg->scheme == AUTH_SCHEME_BASIC)
			r = log_error_errno(-EACCES, "Registry %s refused the credentials: check --creds or the "
						     "credentials file",
					    reg->registry);
		else
			reg->scheme = AUTH_SCHEME_BASIC;
	} else
		r = fetch_token(reg, &c);
	auth_challenge_done(&c);
	if (r >= 0)
		reg->auth_generation++;
out:
	pthread_mutex_unlock(&reg->lock);
	return r;
}

static int probe(struct registry *reg, bool quiet)
{
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s/v2/", reg->base) < 0)
		return -ENOMEM;
	struct membuf body = { .max = ERROR_BODY_MAX, .what = "the API root" };
	struct exchange x = {};
	struct request rq = {
		.what = "the API root",
		.url = url,
		.quiet = true,
		.attempts = quiet ? 1 : 0,
		.before_attempt = membuf_reset,
	};
	int r = request_run(reg, &rq, &x, membuf_payload, &body);
	free(body.data);
	if (r == -EACCES && x.status == 401) {
		_cleanup_free_ char *challenge = TAKE_PTR(x.www_authenticate), *challenger = NULL;
		const char *effective = NULL;
		curl_easy_getinfo(x.curl, CURLINFO_EFFECTIVE_URL, &effective);
		challenger = effective ? strdup(effective) : NULL;
		exchange_done(&x);
		return authenticate(reg, challenge, challenger, rq.what, reg->auth_generation);
	}
	long status = x.status;
	char error[CURL_ERROR_SIZE];
	snprintf(error, sizeof(error), "%s", *x.error ? x.error : "no answer");
	exchange_done(&x);
	if (r < 0 && !quiet) {
		if (status == 404)
			return log_error_errno(-EPROTO, "%s is not an OCI registry (no /v2/ API)", reg->registry);
		if (status)
			return log_error_errno(r, "Registry %s answered HTTP %ld to the API probe", reg->registry, status);
		if (r == -ECONNABORTED)
			return log_error_errno(r, "TLS handshake with registry %s failed (%s): if it speaks plain HTTP, "
						  "use --insecure",
					       reg->registry, error);
		if (r == -EPERM)
			return log_error_errno(r, "TLS with registry %s failed (%s): for a private CA use --ca-file; "
						  "--insecure skips verification",
					       reg->registry, error);
		return log_error_errno(r, "Cannot reach registry %s (%s): check the address and that it is up%s",
				       reg->registry, error,
				       reg->insecure ? "" : "; an HTTP-only registry needs --insecure");
	}
	return r;
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *userdata)
{
	struct registry *reg = userdata;
	(void)c;
	(void)access;
	pthread_mutex_lock(&reg->share_locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *userdata)
{
	struct registry *reg = userdata;
	(void)c;
	pthread_mutex_unlock(&reg->share_locks[data]);
}

static CURLSH *share_new(struct registry *reg)
{
	CURLSH *sh = curl_share_init();
	if (!sh)
		return NULL;
	if (curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_USERDATA, reg) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
		curl_share_cleanup(sh);
		return NULL;
	}
	return sh;
}

int registry_open(const struct image_reference *ref, const struct registry_options *opts, struct registry **ret)
{
	struct registry *reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	pthread_mutex_init(&reg->lock, NULL);
	for (size_t i = 0; i < ELEMENTSOF(reg->share_locks); i++)
		pthread_mutex_init(&reg->share_locks[i], NULL);
	reg->share = share_new(reg);
	reg->insecure = opts->insecure;
	reg->attempts = opts->attempts ?: DEFAULT_ATTEMPTS;
	reg->stall_seconds = opts->stall_seconds ?: DEFAULT_STALL_SECONDS;
	reg->registry = strdup(ref->registry);
	reg->repository = strdup(ref->repository);
	reg->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
	if (asprintf(&reg->name, "registry %s", ref->registry) < 0)
		reg->name = NULL;
	if (!reg->share || !reg->name || !reg->registry || !reg->repository || (opts->ca_file && !reg->ca_file)) {
		registry_free(reg);
		return -ENOMEM;
	}

	int r;
	if (opts->creds) {
		r = credentials_from_string(opts->creds, &reg->creds);
		if (r < 0) {
			registry_free(reg);
			return log_error_errno(r, "--creds wants USER:PASSWORD");
		}
	} else {
		r = credentials_find(ref->registry, &reg->creds);
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
	r = probe(reg, reg->insecure);
	if (r < 0 && r != -EACCES && reg->insecure) {
		free(reg->base);
		if (asprintf(&reg->base, "http://%s", ref->api_host) < 0)
			reg->base = NULL;
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
	free(reg->ca_file);
	credentials_done(&reg->creds);
	if (reg->token)
		OPENSSL_cleanse(reg->token, strlen(reg->token));
	free(reg->token);
	if (reg->share)
		curl_share_cleanup(reg->share);
	for (size_t i = 0; i < ELEMENTSOF(reg->share_locks); i++)
		pthread_mutex_destroy(&reg->share_locks[i]);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
	return NULL;
}

int registry_fetch_manifest(struct registry *reg, const char *object, char **ret_body, size_t *ret_size,
			    char **ret_content_type, char ret_digest[static DIGEST_STRING_MAX])
{
	bool by_digest = strncmp(object, DIGEST_SHA256_PREFIX, strlen(DIGEST_SHA256_PREFIX)) == 0;
	if (by_digest && !digest_is_valid(object))
		return log_error_errno(-EINVAL, "Invalid digest '%s'", object);

	_cleanup_free_ char *url = NULL, *what = NULL;
	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, reg->repository, object) < 0 ||
	    asprintf(&what, "manifest %s", object) < 0)
		return -ENOMEM;
	struct membuf body = { .max = MANIFEST_SIZE_MAX, .what = what };
	struct exchange x = {};
	struct request rq = {
		.what = what,
		.url = url,
		.accept = MANIFEST_ACCEPT,
		.registry_auth = true,
		.max_size = MANIFEST_SIZE_MAX,
		.document = true,
		.before_attempt = membuf_reset,
	};
	int r = request_run(reg, &rq, &x, membuf_payload, &body);
	if (r >= 0)
		r = digest_buffer(body.data ?: "", body.size, ret_digest);
	if (r >= 0 && by_digest && !streq(ret_digest, object))
		r = log_error_errno(-EBADMSG, "Digest mismatch for manifest %s: the registry sent %s; refusing it",
				    object, ret_digest);
	if (r >= 0 && x.docker_digest && digest_is_valid(x.docker_digest) && !streq(x.docker_digest, ret_digest))
		r = log_error_errno(-EBADMSG, "Digest mismatch for manifest %s: the registry says %s, its bytes hash "
					      "to %s; refusing it",
				    object, x.docker_digest, ret_digest);
	if (r >= 0) {
		*ret_content_type = TAKE_PTR(x.content_type);
		*ret_body = body.data ?: strdup("");
		*ret_size = body.size;
		body.data = NULL;
		if (!*ret_body)
			r = -ENOMEM;
	}
	free(body.data);
	exchange_done(&x);
	return r;
}

/* A blob download across attempts: the hash runs over the bytes once, in
 * order, so a resumed transfer continues it where the last one stopped. */
struct blob_transfer {
	struct registry *reg;
	const char *digest;
	const char *what; /* "blob sha256:...", with what it is when known */
	uint64_t size;
	uint64_t received;
	uint64_t received_at_attempt;
	uint64_t skip; /* a server that ignored our Range resends these */
	bool checked;
	struct digest_ctx md;
	blob_sink_t sink;
	void *userdata;
};

static void blob_before_attempt(struct exchange *x, void *ctx)
{
	struct blob_transfer *b = ctx;
	b->checked = false;
	b->skip = 0;
	b->received_at_attempt = b->received;
	if (b->received > 0) {
		char range[64];
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)b->received);
		curl_easy_setopt(x->curl, CURLOPT_RANGE, range);
	}
}

static bool blob_progressed(void *ctx)
{
	struct blob_transfer *b = ctx;
	return b->received - b->received_at_attempt >= PROGRESS_MIN;
}

static int blob_check_response(struct exchange *x, struct blob_transfer *b)
{
	curl_off_t length = -1;
	curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
	uint64_t expected = b->size;
	if (x->status == 206) {
		/* "bytes START-END/TOTAL": START must be where we stopped. */
		const char *p = x->content_range && strncmp(x->content_range, "bytes ", 6) == 0 ? x->content_range + 6 : NULL;
		char *end = NULL;
		unsigned long long start = p ? strtoull(p, &end, 10) : 0;
		if (!p || end == p || *end != '-' || start != b->received)
			return log_error_errno(-EPROTO, "Registry %s resumed %s at the wrong offset",
					       b->reg->registry, b->what);
		expected = b->size - b->received;
	} else
		b->skip = b->received;
	/* The descriptor's size is authoritative. */
	if (length >= 0 && (uint64_t)length != expected)
		return log_error_errno(-EBADMSG, "Size mismatch for %s: the registry announces %lld bytes, the "
						 "manifest says %llu; refusing it",
				       b->what, (long long)length, (unsigned long long)expected);
	return 0;
}

static int blob_payload(struct exchange *x, const char *data, size_t size)
{
	struct blob_transfer *b = x->payload_ctx;
	if (!b->checked) {
		int r = blob_check_response(x, b);
		if (r < 0)
			return r;
		b->checked = true;
	}
	size_t drop = MIN_SIZE((uint64_t)size, b->skip);
	data += drop;
	size -= drop;
	b->skip -= drop;
	if (size == 0)
		return 0;
	if (size > b->size - b->received)
		return log_error_errno(-EBADMSG, "Size mismatch for %s: the registry sends more than the %llu "
						 "bytes the manifest says; refusing it",
				       b->what, (unsigned long long)b->size);
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

	struct blob_transfer b = {
		.reg = reg, .digest = digest, .what = what, .size = size, .sink = sink, .userdata = userdata
	};
	int r = digest_init(&b.md);
	if (r < 0)
		return r;
	struct exchange x = {};
	struct request rq = {
		.what = what,
		.url = url,
		.registry_auth = true,
		.before_attempt = blob_before_attempt,
		.progressed = blob_progressed,
	};
	r = request_run(reg, &rq, &x, blob_payload, &b);
	exchange_done(&x);
	if (r >= 0 && b.received != size)
		r = log_error_errno(-EBADMSG, "Size mismatch for %s: got %llu of %llu bytes; refusing it", what,
				    (unsigned long long)b.received, (unsigned long long)size);
	char got[DIGEST_STRING_MAX];
	if (r >= 0)
		r = digest_final(&b.md, got);
	if (r >= 0 && !streq(got, digest))
		r = log_error_errno(-EBADMSG, "Digest mismatch for %s: its bytes hash to %s; the registry "
					      "or something on the way corrupted it",
				    what, got);
	digest_done(&b.md);
	return r;
}

int registry_fetch_blob(struct registry *reg, const char *digest, uint64_t size, blob_sink_t sink, void *userdata)
{
	return fetch_blob(reg, digest, size, NULL, sink, userdata);
}

static int store_fetch_manifest(void *ctx, const char *object, char **ret_body, size_t *ret_size,
				char **ret_media_type, char ret_digest[static DIGEST_STRING_MAX])
{
	if (!object)
		return -EINVAL;
	return registry_fetch_manifest(ctx, object, ret_body, ret_size, ret_media_type, ret_digest);
}

static int store_produce_blob(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	/* Messages say which blob failed: a config's digest is checked like a layer's. */
	const char *t = d->media_type ?: "";
	bool config = strstr(t, ".config.") || strstr(t, "container.image.");
	return fetch_blob(ctx, d->digest, d->size, config ? "image config" : "layer", sink, sink_ctx);
}

void registry_manifest_store(struct registry *reg, struct manifest_store *ret)
{
	*ret = (struct manifest_store){
		.name = reg->name,
		.fetch_manifest = store_fetch_manifest,
		.produce_blob = store_produce_blob,
		.ctx = reg,
	};
}
