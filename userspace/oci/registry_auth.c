/* SPDX-License-Identifier: Apache-2.0 */
#include "registry_auth.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "membuf.h"
#include "util.h"

#define TOKEN_BODY_MAX (1024 * 1024)

void registry_auth_init(struct registry_auth *a)
{
	pthread_mutex_init(&a->lock, NULL);
}

void registry_auth_done(struct registry_auth *a)
{
	credentials_done(&a->creds);
	if (a->token)
		OPENSSL_cleanse(a->token, strlen(a->token));
	free(a->token);
	a->token = NULL;
	pthread_mutex_destroy(&a->lock);
}

/* Sets the current registry authorization on x; returns its generation. */
unsigned registry_auth_apply(struct http_exchange *x, void *auth)
{
	struct registry_auth *a = auth;
	pthread_mutex_lock(&a->lock);
	unsigned generation = a->generation;
	if (a->scheme == AUTH_SCHEME_BEARER && a->token)
		http_exchange_set_auth(x, &(struct http_auth){ .bearer = a->token });
	else if (a->scheme == AUTH_SCHEME_BASIC && a->creds.username)
		http_exchange_set_auth(
			x, &(struct http_auth){ .username = a->creds.username, .password = a->creds.password });
	pthread_mutex_unlock(&a->lock);
	return generation;
}

/* "REALM?service=SERVICE&scope=SCOPE", escaped. */
static char *token_url(const struct auth_challenge *c, const char *default_scope)
{
	CURL *esc = curl_easy_init();
	if (!esc)
		return NULL;
	char *service = c->service ? curl_easy_escape(esc, c->service, 0) : NULL;
	char *scope = curl_easy_escape(esc, c->scope ?: default_scope, 0);
	char *url = NULL;
	if (asprintf(&url, "%s%c%s%s%sscope=%s", c->realm, strchr(c->realm, '?') ? '&' : '?', service ? "service=" : "",
		     service ?: "", service ? "&" : "", scope ?: "") < 0)
		url = NULL;
	curl_free(service);
	curl_free(scope);
	curl_easy_cleanup(esc);
	return url;
}

static int fetch_token(struct registry_auth *a, const struct auth_challenge *c)
{
	/* Credentials go to the realm only, and never in clear text unless the
	 * registry itself is plain http. */
	int r = auth_realm_check(a->base, c->realm);
	/* -EACCES: refusals, not reasons to try the registry over plain http. */
	if (r == -EPROTO)
		return log_error_errno(
			-EACCES,
			"Registry %s, reached over HTTPS, wants tokens from a plain-HTTP realm; refusing to "
			"send %s there",
			a->registry, a->creds.username ? "the credentials" : "a token request");
	if (r < 0)
		return log_error_errno(-EACCES, "Registry %s names a token service that is not an http(s) URL",
				       a->registry);

	_cleanup_free_ char *default_scope = NULL, *url = NULL;
	/* A challenge without a scope (the /v2/ probe's) gets ours: a token
	 * for pushing must be asked for with push. */
	if (asprintf(&default_scope, "repository:%s:%s", a->repository, a->actions ?: "pull") < 0)
		return -ENOMEM;
	url = token_url(c, default_scope);
	if (!url)
		return -ENOMEM;

	struct membuf body = MEMBUF_INIT(TOKEN_BODY_MAX);
	struct http_response resp;
	struct http_request rq = {
		.what = "an access token",
		.url = url,
		.username = a->creds.username,
		.password = a->creds.password,
		.quiet = true,
		.document = true,
	};
	r = http_get_document(a->http, &rq, &resp, &body);
	long status = resp.status;
	http_response_done(&resp);
	if (r >= 0) {
		char *token = NULL;
		r = auth_token_parse(body.data, body.size, &token, NULL);
		if (r < 0)
			log_error("The token service of %s sent a malformed answer", a->registry);
		else {
			free(a->token);
			a->token = token;
			a->scheme = AUTH_SCHEME_BEARER;
		}
	} else if (status == 401 || status == 403)
		r = log_error_errno(-EACCES, "Registry %s refused %s: %s", a->registry,
				    a->creds.username ? "the credentials" : "anonymous access",
				    a->creds.username ? "check --creds or the credentials file"
						      : "pass --creds USER:PASS or log in with docker/podman");
	else
		r = log_error_errno(r, "Cannot get an access token for %s from its token service: %m", a->registry);
	membuf_done(&body);
	return r;
}

int registry_auth_answer(void *auth, const struct http_response *resp, const char *what, unsigned generation)
{
	struct registry_auth *a = auth;
	/* Only the registry's own challenges are answered: answering one from a
	 * host a redirect led to would hand it (or the realm it names) the
	 * registry's credentials, and libcurl would send the token it buys to
	 * the registry, never to that host. */
	if (!auth_same_origin(resp->url, a->base)) {
		_cleanup_free_ char *origin = auth_url_origin(resp->url);
		return log_error_errno(-EACCES,
				       "%s, where registry %s redirected %s, asks for authentication: refusing "
				       "to answer it (the registry's credentials and tokens go only to the "
				       "registry and the token service it names)",
				       origin ?: "another host", a->registry, what);
	}
	pthread_mutex_lock(&a->lock);
	int r = 0;
	if (generation != a->generation)
		goto out;

	struct auth_challenge c = {};
	r = resp->www_authenticate ? auth_challenge_parse(resp->www_authenticate, &c) : -EBADMSG;
	if (r < 0) {
		r = log_error_errno(-EACCES, "Registry %s requires authentication with a challenge we cannot answer",
				    a->registry);
		goto out;
	}
	if (c.scheme == AUTH_SCHEME_BASIC) {
		if (!a->creds.username)
			r = log_error_errno(-EACCES,
					    "Registry %s requires credentials: pass --creds USER:PASS or "
					    "log in with docker/podman",
					    a->registry);
		else if (a->scheme == AUTH_SCHEME_BASIC)
			r = log_error_errno(-EACCES,
					    "Registry %s refused the credentials: check --creds or the "
					    "credentials file",
					    a->registry);
		else
			a->scheme = AUTH_SCHEME_BASIC;
	} else
		r = fetch_token(a, &c);
	auth_challenge_done(&c);
	if (r >= 0)
		a->generation++;
out:
	pthread_mutex_unlock(&a->lock);
	return r;
}
