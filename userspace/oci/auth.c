/* SPDX-License-Identifier: Apache-2.0 */
#include "auth.h"

#include "base64.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

/* Bounds what a hostile header can make us hold. */
#define CHALLENGE_PARAM_MAX 4096
#define CREDENTIALS_FILE_MAX (1024 * 1024)

void auth_challenge_done(struct auth_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	*c = (struct auth_challenge){};
}

static bool is_token_char(char c)
{
	/* c != 0 first: strchr() finds the terminator too. */
	return c != '\0' && (isalnum((unsigned char) c) || strchr("!#$%&'*+-.^_`|~/", c));
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Reads token or quoted-string at *p into a new string. */
static int read_value(const char **p, char **ret)
{
	const char *s = *p;
	_cleanup_free_ char *v = malloc(strlen(s) + 1);
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (!*s)
				return -EBADMSG;
			if (*s == '\\' && s[1])
				s++;
			v[n++] = *s;
		}
		s++;
	} else {
		/* Leniently up to the next separator: some servers leave URLs unquoted. */
		while (*s && !strchr(", \t\"\\", *s))
			v[n++] = *s++;
		if (n == 0)
			return -EBADMSG;
	}
	if (n > CHALLENGE_PARAM_MAX)
		return -EBADMSG;
	v[n] = '\0';
	*p = s;
	*ret = TAKE_PTR(v);
	return 0;
}

/* Parses one challenge starting at *p; leaves *p at the next one. */
static int parse_one(const char **p, struct auth_challenge *c)
{
	const char *s = skip_space(*p);
	const char *scheme = s;
	while (is_token_char(*s))
		s++;
	size_t scheme_len = s - scheme;
	if (scheme_len == 0)
		return -EBADMSG;
	if (scheme_len == 6 && strncasecmp(scheme, "bearer", 6) == 0)
		c->scheme = AUTH_SCHEME_BEARER;
	else if (scheme_len == 5 && strncasecmp(scheme, "basic", 5) == 0)
		c->scheme = AUTH_SCHEME_BASIC;
	else
		c->scheme = AUTH_SCHEME_NONE;

	for (;;) {
		s = skip_space(s);
		if (!*s)
			break;
		/* A parameter is NAME=VALUE; a bare token is the next scheme. */
		const char *name = s;
		while (is_token_char(*s))
			s++;
		size_t name_len = s - name;
		const char *after = skip_space(s);
		if (name_len == 0 || *after != '=') {
			if (name_len == 0 && *s == ',') {
				s++;
				continue;
			}
			s = name;
			break;
		}
		s = skip_space(after + 1);
		_cleanup_free_ char *value = NULL;
		int r = read_value(&s, &value);
		if (r < 0)
			return r;
		char **slot = NULL;
		if (name_len == 5 && strncasecmp(name, "realm", 5) == 0)
			slot = &c->realm;
		else if (name_len == 7 && strncasecmp(name, "service", 7) == 0)
			slot = &c->service;
		else if (name_len == 5 && strncasecmp(name, "scope", 5) == 0)
			slot = &c->scope;
		if (slot) {
			if (*slot)
				return -EBADMSG;
			*slot = TAKE_PTR(value);
		}
		s = skip_space(s);
		if (*s == ',')
			s++;
		else if (*s)
			return -EBADMSG;
	}
	*p = s;
	return 0;
}

int auth_challenge_parse(const char *header, struct auth_challenge *ret)
{
	struct auth_challenge best = {};
	const char *p = header;
	while (*skip_space(p)) {
		struct auth_challenge c = {};
		const char *before = p;
		int r = parse_one(&p, &c);
		if (r < 0 || p == before) {
			auth_challenge_done(&c);
			auth_challenge_done(&best);
			return r < 0 ? r : -EBADMSG;
		}
		if (c.scheme > best.scheme) {
			auth_challenge_done(&best);
			best = c;
		} else
			auth_challenge_done(&c);
	}
	if (best.scheme == AUTH_SCHEME_NONE)
		return -EPROTONOSUPPORT;
	if (best.scheme == AUTH_SCHEME_BEARER && (!best.realm || !*best.realm)) {
		auth_challenge_done(&best);
		return -EBADMSG;
	}
	*ret = best;
	return 0;
}

char *auth_url_origin(const char *url)
{
	CURLU *u = url ? curl_url() : NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *origin = NULL;
	/* No guessing: "host/path" is not a URL of any origin. */
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    (strcasecmp(scheme, "https") == 0 || strcasecmp(scheme, "http") == 0) &&
	    asprintf(&origin, "%s://%s:%s", scheme, host, port) < 0)
		origin = NULL;
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	for (char *p = origin; p && *p; p++)
		*p = (char) tolower((unsigned char) *p);
	return origin;
}

bool auth_same_origin(const char *a, const char *b)
{
	_cleanup_free_ char *origin_a = auth_url_origin(a), *origin_b = auth_url_origin(b);
	return origin_a && origin_b && streq(origin_a, origin_b);
}

int auth_realm_check(const char *base, const char *realm)
{
	_cleanup_free_ char *origin = auth_url_origin(realm), *base_origin = auth_url_origin(base);
	if (!origin || !base_origin)
		return -EINVAL;
	if (strncmp(origin, "https://", 8) == 0 || strncmp(base_origin, "http://", 7) == 0)
		return 0;
	return -EPROTO;
}

int auth_token_parse(const void *buf, size_t size, char **ret_token, long *ret_expires_in)
{
	json_error_t error;
	json_t *root = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &error);
	if (!json_is_object(root)) {
		json_decref(root);
		return -EBADMSG;
	}
	const char *token = json_string_value(json_object_get(root, "token"));
	if (!token || !*token)
		token = json_string_value(json_object_get(root, "access_token"));
	json_int_t expires_in = json_integer_value(json_object_get(root, "expires_in"));
	/* A token goes into a header line: refuse anything that could split it. */
	bool ok = token && *token && !strpbrk(token, "\r\n");
	char *copy = ok ? strdup(token) : NULL;
	json_decref(root);
	if (!ok)
		return -EBADMSG;
	if (!copy)
		return -ENOMEM;
	*ret_token = copy;
	if (ret_expires_in)
		*ret_expires_in = expires_in > 0 && expires_in < 86400 * 365 ? (long) expires_in : 60;
	return 0;
}

/* Whether a config.json key names registry: "host", "https://host",
 * "https://host/v1/" all do; Docker Hub has its historical names. */
static bool key_matches(const char *key, const char *registry)
{
	const char *k = key;
	if (strncmp(k, "https://", 8) == 0)
		k += 8;
	else if (strncmp(k, "http://", 7) == 0)
		k += 7;
	size_t host_len = strcspn(k, "/");
	if (streq(registry, "docker.io")) {
		static const char *const hub[] = { "docker.io", "index.docker.io", "registry-1.docker.io" };
		for (size_t i = 0; i < ELEMENTSOF(hub); i++)
			if (host_len == strlen(hub[i]) && strncmp(k, hub[i], host_len) == 0)
				return true;
		return false;
	}
	return host_len == strlen(registry) && strncmp(k, registry, host_len) == 0;
}

int credentials_from_string(const char *s, struct credentials *ret)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return -EINVAL;
	struct credentials c = { strndup(s, colon - s), strdup(colon + 1) };
	if (!c.username || !c.password) {
		credentials_done(&c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

static int entry_credentials(json_t *entry, struct credentials *ret)
{
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	if (auth && *auth) {
		/* As Docker writes it, padded; tools that drop the '=' exist. */
		unsigned char *decoded = NULL;
		size_t size = 0;
		int r = base64_decode(auth, strlen(auth), BASE64_UNPADDED_OK | BASE64_NONCANONICAL_OK, strlen(auth),
				      &decoded, &size);
		if (r < 0)
			return r == -ENOMEM ? r : -EBADMSG;
		r = memchr(decoded, '\0', size) ? -EBADMSG : credentials_from_string((char *) decoded, ret);
		OPENSSL_cleanse(decoded, size);
		free(decoded);
		return r == -EINVAL ? -EBADMSG : r;
	}
	const char *user = json_string_value(json_object_get(entry, "username"));
	const char *pass = json_string_value(json_object_get(entry, "password"));
	if (!user || !pass)
		return -ENOENT;
	struct credentials c = { strdup(user), strdup(pass) };
	if (!c.username || !c.password) {
		credentials_done(&c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

int auth_config_lookup(const void *buf, size_t size, const char *registry, struct credentials *ret)
{
	json_error_t error;
	json_t *root = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &error);
	json_t *auths = json_object_get(root, "auths");
	int r = -ENOENT;
	if (!json_is_object(root) || (auths && !json_is_object(auths)))
		r = -EBADMSG;
	else if (auths) {
		/* An exact key first, so "host" beats "https://host/v1/". */
		json_t *entry = json_object_get(auths, registry);
		if (entry)
			r = entry_credentials(entry, ret);
		const char *key;
		json_object_foreach(auths, key, entry)
		{
			if (r != -ENOENT)
				break;
			if (key_matches(key, registry))
				r = entry_credentials(entry, ret);
		}
	}
	json_decref(root);
	return r;
}

bool auth_config_uses_helper(const void *buf, size_t size, const char *registry)
{
	json_error_t error;
	json_t *root = json_loadb(buf, size, 0, &error);
	bool uses = json_is_string(json_object_get(root, "credsStore"));
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(root, "credHelpers"), key, v)
	{
		if (key_matches(key, registry))
			uses = true;
	}
	json_decref(root);
	return uses;
}

static int lookup_file(const char *path, const char *registry, struct credentials *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ENOENT : log_warning_errno(-errno, "Cannot read %s: %m", path);
	_cleanup_free_ char *buf = malloc(CREDENTIALS_FILE_MAX);
	if (!buf)
		// cppcheck-suppress resourceLeak ; closed by its _cleanup_ attribute
		return -ENOMEM;
	size_t n = fread(buf, 1, CREDENTIALS_FILE_MAX, f);
	if (ferror(f) || n == CREDENTIALS_FILE_MAX) {
		log_warning("Ignoring %s: unreadable or too big", path);
		// cppcheck-suppress [resourceLeak, memleak] ; both freed by their _cleanup_ attributes
		return -EFBIG;
	}
	int r = auth_config_lookup(buf, n, registry, ret);
	if (r == -ENOENT && auth_config_uses_helper(buf, n, registry))
		log_warning("%s names a credential helper for %s, which we cannot run; use --creds or an "
			    "\"auths\" entry",
			    path, registry);
	OPENSSL_cleanse(buf, n);
	if (r == -EBADMSG)
		/* Name the file, never its contents: they are secrets. */
		log_warning("Ignoring credentials file %s: malformed JSON or \"auth\" entry", path);
	else if (r >= 0)
		log_debug("Using credentials for %s from %s", registry, path);
	return r;
}

int credentials_find(const char *registry, struct credentials *ret)
{
	const char *file = getenv("REGISTRY_AUTH_FILE");
	if (file && *file) {
		int r = lookup_file(file, registry, ret);
		return r == -EBADMSG ? -ENOENT : r;
	}

	/* podman's, then docker's: the first file with an entry wins. */
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	const char *docker = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	char *paths[2] = {};
	if (runtime && *runtime && asprintf(&paths[0], "%s/containers/auth.json", runtime) < 0)
		paths[0] = NULL;
	if (docker && *docker) {
		if (asprintf(&paths[1], "%s/config.json", docker) < 0)
			paths[1] = NULL;
	} else if (home && *home && asprintf(&paths[1], "%s/.docker/config.json", home) < 0)
		paths[1] = NULL;

	int r = -ENOENT;
	for (size_t i = 0; i < ELEMENTSOF(paths) && r == -ENOENT; i++)
		if (paths[i]) {
			r = lookup_file(paths[i], registry, ret);
			if (r == -EBADMSG)
				r = -ENOENT;
		}
	free(paths[0]);
	free(paths[1]);
	return r;
}

void credentials_done(struct credentials *c)
{
	if (c->password)
		OPENSSL_cleanse(c->password, strlen(c->password));
	free(c->username);
	free(c->password);
	*c = (struct credentials){};
}
