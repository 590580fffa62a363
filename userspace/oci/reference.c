/* SPDX-License-Identifier: Apache-2.0 */
#include "reference.h"

#include <stdbool.h>
#include <string.h>

#include "digest.h"
#include "util.h"

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Path components: lowercase alphanumerics joined by '.', '_', "__" or
 * runs of '-' (the distribution grammar, slightly more permissive). */
static bool repository_is_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 255)
		return false;
	bool need_alnum = true;
	for (const char *p = s; *p; p++) {
		if (is_lower_alnum(*p)) {
			need_alnum = false;
			continue;
		}
		if (need_alnum || !strchr("._-/", *p))
			return false;
		if (*p == '/' || *p == '.')
			need_alnum = true;
		else if (p[1] == '/' || p[1] == '.' || p[1] == '\0')
			return false;
	}
	return !need_alnum;
}

static bool tag_is_valid(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 128 || s[0] == '.' || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++)
		if (!is_lower_alnum(*p) && !(*p >= 'A' && *p <= 'Z') && !strchr("_.-", *p))
			return false;
	return true;
}

static bool host_is_valid(const char *s)
{
	if (!*s || strlen(s) > 255)
		return false;
	for (const char *p = s; *p; p++)
		if (!is_lower_alnum(*p) && !(*p >= 'A' && *p <= 'Z') && !strchr(".-:[]", *p))
			return false;
	return true;
}

int reference_parse(const char *s, struct image_reference *ret)
{
	_cleanup_free_ char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;

	struct image_reference ref = {};
	char *name = copy;

	char *at = strchr(name, '@');
	const char *digest = NULL;
	if (at) {
		*at = '\0';
		digest = at + 1;
		if (!digest_is_valid(digest))
			return -EINVAL;
	}

	const char *host = DOCKER_HUB;
	char *slash = strchr(name, '/');
	if (slash && (memchr(name, '.', slash - name) || memchr(name, ':', slash - name) ||
		      (slash - name == 9 && strncmp(name, "localhost", 9) == 0))) {
		*slash = '\0';
		host = name;
		name = slash + 1;
		if (!host_is_valid(host))
			return -EINVAL;
	}

	/* A tag is a ':' in the last path component (a ':' before a '/' would
	 * have been a port and is gone with the host). */
	const char *tag = NULL;
	char *colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		tag = colon + 1;
		if (!tag_is_valid(tag))
			return -EINVAL;
	}
	if (!repository_is_valid(name))
		return -EINVAL;

	bool hub = streq(host, DOCKER_HUB) || streq(host, "index.docker.io");
	ref.registry = strdup(hub ? DOCKER_HUB : host);
	ref.api_host = strdup(hub ? DOCKER_HUB_API : host);
	if (hub && !strchr(name, '/')) {
		if (asprintf(&ref.repository, "library/%s", name) < 0)
			ref.repository = NULL;
	} else
		ref.repository = strdup(name);
	ref.tag = tag ? strdup(tag) : digest ? NULL : strdup("latest");
	ref.digest = digest ? strdup(digest) : NULL;
	if (!ref.registry || !ref.api_host || !ref.repository || (!ref.tag && !digest) || (digest && !ref.digest)) {
		reference_done(&ref);
		return -ENOMEM;
	}
	*ret = ref;
	return 0;
}

void reference_done(struct image_reference *ref)
{
	free(ref->registry);
	free(ref->api_host);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	*ref = (struct image_reference){};
}

const char *reference_object(const struct image_reference *ref)
{
	return ref->digest ? ref->digest : ref->tag;
}
