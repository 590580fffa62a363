/* SPDX-License-Identifier: Apache-2.0 */
/* Registry authentication: WWW-Authenticate challenges, token responses
 * and credential files. The parsers are pure functions over a buffer (fuzz
 * targets: auth_challenge_parse, auth_token_parse, auth_config_lookup).
 * Nothing here ever logs a secret. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum auth_scheme { AUTH_SCHEME_NONE, AUTH_SCHEME_BASIC, AUTH_SCHEME_BEARER };

struct auth_challenge {
	enum auth_scheme scheme;
	char *realm;   /* Bearer: the token endpoint */
	char *service; /* may be NULL */
	char *scope;   /* may be NULL */
};

struct credentials {
	char *username;
	char *password;
};

/* Parses the value of a WWW-Authenticate header. A Bearer challenge wins
 * over others in the same header. -EBADMSG when malformed, -EPROTONOSUPPORT
 * for schemes we cannot answer. */
int auth_challenge_parse(const char *header, struct auth_challenge *ret);
void auth_challenge_done(struct auth_challenge *c);

/* Where the registry's credentials may go. They are answered to challenges
 * from the registry's own origin only (scheme, host and port, as libcurl
 * decides for redirects), and sent to the realm that such a challenge names:
 * never to a host a redirect leads to, nor to a realm that host names. */

/* "scheme://host:port" of url, lowercase, the port always given (the
 * scheme's default when the URL leaves it out); NULL when url is not an
 * absolute http(s) URL (or on ENOMEM). */
char *auth_url_origin(const char *url);
/* Whether a and b are URLs of the same origin; false if either is not one. */
bool auth_same_origin(const char *a, const char *b);
/* Whether a token may be fetched from realm for the registry at base: an
 * https realm, or an http one only when the registry itself speaks plain
 * http (--insecure): a registry reached over TLS never hands the
 * credentials to plain http. -EPROTO when not, -EINVAL when realm is not
 * an http(s) URL. */
int auth_realm_check(const char *base, const char *realm);

/* The token endpoint's answer: {"token": ...} or {"access_token": ...},
 * with an optional "expires_in" (seconds; default 60). */
int auth_token_parse(const void *buf, size_t size, char **ret_token, long *ret_expires_in);

/* Looks up registry (as named in the reference, e.g. "docker.io",
 * "localhost:5000") in a docker config.json / containers auth.json.
 * -ENOENT when it has no entry. */
int auth_config_lookup(const void *buf, size_t size, const char *registry, struct credentials *ret);

/* Whether such a file delegates registry (or everything) to a credential
 * helper program, which we do not run. */
bool auth_config_uses_helper(const void *buf, size_t size, const char *registry);

/* "USER:PASS" (the password may contain ':'). */
int credentials_from_string(const char *s, struct credentials *ret);
/* $REGISTRY_AUTH_FILE alone if set; else $XDG_RUNTIME_DIR/containers/auth.json
 * (podman), then $DOCKER_CONFIG/config.json or ~/.docker/config.json.
 * -ENOENT when none has an entry for registry. */
int credentials_find(const char *registry, struct credentials *ret);
/* Wipes the secret before freeing it. */
void credentials_done(struct credentials *c);
