/* SPDX-License-Identifier: Apache-2.0 */
/* A registry's authorization, shared by the threads pulling from it: what
 * each request answers with (Basic credentials or a Bearer token), and the
 * answer to a challenge (a token fetched from the realm it names). The
 * parsing is auth.c's; where the credentials may go is auth.h's rule. */
#pragma once

#include <pthread.h>

#include "auth.h"
#include "http.h"

struct registry_auth {
	struct http_client *http; /* borrowed */
	const char *registry;     /* as the user named it, for messages */
	const char *repository;   /* the default token scope's */
	const char *actions;      /* the default scope's actions: NULL "pull", or "pull,push" */
	const char *base;         /* the registry's origin ("https://host"): set by its owner */
	struct credentials creds; /* empty when anonymous */

	/* Shared by the download threads; a 401 on any of them refreshes it. */
	pthread_mutex_t lock;
	enum auth_scheme scheme;
	char *token;
	unsigned generation;
};

void registry_auth_init(struct registry_auth *a);
/* Wipes the secrets. */
void registry_auth_done(struct registry_auth *a);

/* For struct http_request: authorize and unauthorized, auth_ctx the
 * struct registry_auth. */
unsigned registry_auth_apply(struct http_exchange *x, void *auth);
/* Answers the challenge a response to a request for what carried, if it
 * came from the registry's own origin (resp->url, after redirects). Several
 * threads may hit the same expired token: only the first (the one whose
 * generation is current) refreshes it, the others retry with the new one.
 * Failures are logged; -EACCES when refused. */
int registry_auth_answer(void *auth, const struct http_response *resp, const char *what, unsigned generation);
