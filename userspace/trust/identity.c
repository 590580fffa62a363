/* SPDX-License-Identifier: Apache-2.0 */
#include "identity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define DOCKER_DOMAIN "docker.io"

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}
static bool is_lower_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* Copies n bytes of s into dst (size bytes); false when it does not fit. */
static bool copy_part(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* One domain label: alphanumerics, inner '-'. */
static bool label_is_valid(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* host[:port], host being labels joined by '.' or an IPv6 literal in []. */
static bool domain_is_valid(const char *s, size_t n)
{
	size_t host_end = n;
	const char *colon = NULL;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!is_lower_hex(*p) && !(*p >= 'A' && *p <= 'F') && *p != ':')
				return false;
		host_end = close + 1 - s;
		if (host_end < n && s[host_end] != ':')
			return false;
		colon = host_end < n ? s + host_end : NULL;
	} else {
		colon = memchr(s, ':', n);
		if (colon)
			host_end = colon - s;
		size_t start = 0;
		for (size_t i = 0; i <= host_end; i++)
			if (i == host_end || s[i] == '.') {
				if (!label_is_valid(s + start, i - start))
					return false;
				start = i + 1;
			}
	}
	if (colon) {
		size_t port_len = n - (colon + 1 - s);
		if (port_len == 0)
			return false;
		for (const char *p = colon + 1; p < s + n; p++)
			if (!is_digit(*p))
				return false;
	}
	return n > 0;
}

/* Path components: [a-z0-9]+ joined by '.', '_', "__" or runs of '-',
 * the components joined by '/'. */
static bool path_is_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	size_t i = 0;
	for (;;) {
		if (i >= n || !is_lower_alnum(s[i]))
			return false;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		if (s[i] == '/') {
			i++;
			continue;
		}
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
	}
}

static bool tag_is_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > IDENTITY_TAG_MAX || !(is_alnum(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* What go-digest accepts: a known algorithm and its length in lowercase hex. */
static bool digest_is_valid(const char *s)
{
	static const struct {
		const char *name;
		size_t hex;
	} algorithms[] = { { "sha256:", 64 }, { "sha384:", 96 }, { "sha512:", 128 } };
	for (size_t a = 0; a < ELEMENTSOF(algorithms); a++) {
		size_t prefix = strlen(algorithms[a].name);
		if (strncmp(s, algorithms[a].name, prefix) != 0)
			continue;
		const char *hex = s + prefix;
		if (strlen(hex) != algorithms[a].hex)
			return false;
		for (const char *p = hex; *p; p++)
			if (!is_lower_hex(*p))
				return false;
		return true;
	}
	return false;
}

/* Splits "path[:tag][@digest]" (not normalized) into r's path, tag and
 * digest, each checked. */
static int parse_rest(const char *rest, struct identity_ref *r)
{
	const char *at = strchr(rest, '@');
	size_t name_end = at ? (size_t) (at - rest) : strlen(rest);
	if (at) {
		if (!digest_is_valid(at + 1) || !copy_part(r->digest, sizeof(r->digest), at + 1, strlen(at + 1)))
			return -EINVAL;
	}
	/* The tag is after a ':' in the last path component (paths have none). */
	const char *colon = memchr(rest, ':', name_end);
	size_t path_len = colon ? (size_t) (colon - rest) : name_end;
	if (colon) {
		if (!copy_part(r->tag, sizeof(r->tag), colon + 1, name_end - path_len - 1) || !tag_is_valid(r->tag))
			return -EINVAL;
	}
	if (!path_is_valid(rest, path_len) || !copy_part(r->path, sizeof(r->path), rest, path_len))
		return -EINVAL;
	return 0;
}

/* Fills ret from a known domain and the rest, with docker.io's
 * normalization. */
static int fill(const char *domain, size_t domain_len, const char *rest, struct identity_ref *ret)
{
	struct identity_ref r = {};
	if (!domain_is_valid(domain, domain_len) || !copy_part(r.domain, sizeof(r.domain), domain, domain_len))
		return -EINVAL;
	if (streq(r.domain, "index.docker.io"))
		strcpy(r.domain, DOCKER_DOMAIN);
	if (parse_rest(rest, &r) < 0)
		return -EINVAL;
	if (streq(r.domain, DOCKER_DOMAIN) && !strchr(r.path, '/')) {
		char path[sizeof(r.path)];
		int n = snprintf(path, sizeof(path), "library/%s", r.path);
		if (n < 0 || (size_t) n >= sizeof(path))
			return -EINVAL;
		memcpy(r.path, path, sizeof(path));
	}
	if (strlen(r.domain) + 1 + strlen(r.path) > IDENTITY_NAME_MAX)
		return -EINVAL;
	*ret = r;
	return 0;
}

int identity_ref_parse(const char *s, struct identity_ref *ret)
{
	if (!s || !*s)
		return -EINVAL;
	size_t n = strlen(s);
	if (n > IDENTITY_NAME_MAX + 1 + IDENTITY_TAG_MAX + 1 + IDENTITY_DIGEST_MAX)
		return -EINVAL;
	/* A bare 64-hex string is an image id, not a name. */
	if (n == 64 && strspn(s, "0123456789abcdef") == 64)
		return -EINVAL;

	/* The domain is the first component if it looks like one: a '.' or a
	 * ':', or "localhost" (containers/image's rule: an uppercase first
	 * component is a bad path, not a domain). */
	const char *slash = strchr(s, '/');
	if (slash) {
		size_t first = slash - s;
		if (memchr(s, '.', first) || memchr(s, ':', first) || (first == 9 && strncmp(s, "localhost", 9) == 0))
			return fill(s, first, slash + 1, ret);
	}
	return fill(DOCKER_DOMAIN, strlen(DOCKER_DOMAIN), s, ret);
}

int identity_ref_parse_canonical(const char *s, struct identity_ref *ret)
{
	struct identity_ref r;
	int k = identity_ref_parse(s, &r);
	if (k < 0)
		return k;
	char buf[IDENTITY_REF_STRING_MAX];
	identity_ref_format(&r, buf, sizeof(buf));
	if (!streq(buf, s))
		return -EINVAL;
	*ret = r;
	return 0;
}

int identity_ref_from_parts(const char *registry, const char *repository, const char *tag, const char *digest,
			    struct identity_ref *ret)
{
	if (!registry || !repository)
		return -EINVAL;
	char rest[IDENTITY_REF_STRING_MAX];
	/* The parts are already split: a ':' or '@' inside one of them is an
	 * error, not a separator. */
	if (strpbrk(repository, ":@") || (tag && strpbrk(tag, ":@/")) || (digest && strchr(digest, '@')))
		return -EINVAL;
	int n = snprintf(rest, sizeof(rest), "%s%s%s%s%s", repository, tag ? ":" : "", tag ? tag : "",
			 digest ? "@" : "", digest ? digest : "");
	if (n < 0 || (size_t) n >= sizeof(rest))
		return -EINVAL;
	return fill(registry, strlen(registry), rest, ret);
}

size_t identity_ref_name(const struct identity_ref *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", r->domain, r->path);
	return n < 0 ? 0 : (size_t) n;
}

size_t identity_ref_format(const struct identity_ref *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag,
			 r->digest[0] ? "@" : "", r->digest);
	return n < 0 ? 0 : (size_t) n;
}

bool identity_prefix_is_valid(const char *s)
{
	if (!s)
		return false;
	const char *slash = strchr(s, '/');
	if (!slash)
		return domain_is_valid(s, strlen(s));
	size_t rest = strlen(slash + 1);
	return domain_is_valid(s, slash - s) && path_is_valid(slash + 1, rest) && strlen(s) <= IDENTITY_NAME_MAX;
}

bool identity_scope_is_valid(const char *s)
{
	if (!s || !*s || strlen(s) > IDENTITY_NAME_MAX + 1 + IDENTITY_TAG_MAX + 1 + IDENTITY_DIGEST_MAX)
		return false;
	if (strncmp(s, "*.", 2) == 0)
		return !strchr(s, ':') && domain_is_valid(s + 2, strlen(s + 2));
	const char *slash = strchr(s, '/');
	size_t host_len = slash ? (size_t) (slash - s) : strlen(s);
	bool looks_like_host = memchr(s, '.', host_len) || memchr(s, ':', host_len) ||
			       (host_len == 9 && strncmp(s, "localhost", 9) == 0);
	if (!looks_like_host || !domain_is_valid(s, host_len) ||
	    (host_len == 15 && strncmp(s, "index.docker.io", 15) == 0))
		return false;
	if (!slash)
		return true;
	/* The path with its tag or digest, not normalized: "docker.io/library"
	 * is a namespace, not docker.io/library/library. */
	struct identity_ref r = {};
	return parse_rest(slash + 1, &r) >= 0 && host_len + 1 + strlen(r.path) <= IDENTITY_NAME_MAX;
}

static const char *const rule_type_names[_IDENTITY_RULE_TYPE_MAX] = {
	[IDENTITY_MATCH_REPO_DIGEST_OR_EXACT] = "matchRepoDigestOrExact",
	[IDENTITY_MATCH_EXACT] = "matchExact",
	[IDENTITY_MATCH_REPOSITORY] = "matchRepository",
	[IDENTITY_EXACT_REFERENCE] = "exactReference",
	[IDENTITY_EXACT_REPOSITORY] = "exactRepository",
	[IDENTITY_REMAP] = "remapIdentity",
};

const char *identity_rule_type_to_string(enum identity_rule_type t)
{
	return t < _IDENTITY_RULE_TYPE_MAX ? rule_type_names[t] : NULL;
}

int identity_rule_type_from_string(const char *s)
{
	for (int t = 0; t < _IDENTITY_RULE_TYPE_MAX; t++)
		if (streq_ptr(s, rule_type_names[t]))
			return t;
	return -EINVAL;
}

static bool same_name(const struct identity_ref *a, const struct identity_ref *b)
{
	return streq(a->domain, b->domain) && streq(a->path, b->path);
}

static bool same_reference(const struct identity_ref *a, const struct identity_ref *b)
{
	return same_name(a, b) && streq(a->tag, b->tag) && streq(a->digest, b->digest);
}

/* A tagged image needs the exact reference signed; an image by digest
 * only needs its repository (the digest itself is checked against the
 * signed manifest digest elsewhere). */
static bool match_repo_digest_or_exact(const struct identity_ref *image, const struct identity_ref *sig)
{
	if (identity_ref_is_name_only(sig))
		return false;
	if (image->tag[0])
		return same_reference(image, sig);
	if (image->digest[0])
		return same_name(image, sig);
	return false;
}

/* prefix matches the image's name on a '/' boundary (a ':' or '@' cannot
 * occur inside a name, so '/' is the only separator). */
static bool name_has_prefix(const struct identity_ref *image, const char *prefix)
{
	char name[IDENTITY_REF_STRING_MAX];
	identity_ref_name(image, name, sizeof(name));
	size_t n = strlen(prefix);
	return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

static bool match_remapped(const struct identity_rule *rule, const struct identity_ref *image,
			   const struct identity_ref *sig)
{
	if (!rule->prefix || !rule->signed_prefix)
		return false;
	if (!name_has_prefix(image, rule->prefix))
		return match_repo_digest_or_exact(image, sig);
	char full[IDENTITY_REF_STRING_MAX];
	identity_ref_format(image, full, sizeof(full));
	char rewritten[sizeof(full) + IDENTITY_NAME_MAX + 1];
	int n = snprintf(rewritten, sizeof(rewritten), "%s%s", rule->signed_prefix, full + strlen(rule->prefix));
	if (n < 0 || (size_t) n >= sizeof(rewritten))
		return false;
	/* The result must be a reference in its expanded form: a signedPrefix
	 * that leaves "busybox:1" would otherwise mean docker.io by accident. */
	struct identity_ref remapped;
	if (identity_ref_parse_canonical(rewritten, &remapped) < 0)
		return false;
	return match_repo_digest_or_exact(&remapped, sig);
}

bool identity_matches(const struct identity_rule *rule, const struct identity_ref *image, const char *signed_reference)
{
	struct identity_ref sig, want;
	if (!rule || identity_ref_parse(signed_reference, &sig) < 0)
		return false;

	switch (rule->type) {
	case IDENTITY_EXACT_REFERENCE:
		if (identity_ref_parse(rule->value, &want) < 0)
			return false;
		return !identity_ref_is_name_only(&want) && !identity_ref_is_name_only(&sig) &&
		       same_reference(&want, &sig);
	case IDENTITY_EXACT_REPOSITORY:
		return identity_ref_parse(rule->value, &want) >= 0 && same_name(&want, &sig);
	default:
		break;
	}

	if (!image)
		return false;
	switch (rule->type) {
	case IDENTITY_MATCH_EXACT:
		return !identity_ref_is_name_only(image) && !identity_ref_is_name_only(&sig) &&
		       same_reference(image, &sig);
	case IDENTITY_MATCH_REPO_DIGEST_OR_EXACT:
		return match_repo_digest_or_exact(image, &sig);
	case IDENTITY_MATCH_REPOSITORY:
		return same_name(image, &sig);
	case IDENTITY_REMAP:
		return match_remapped(rule, image, &sig);
	default:
		return false;
	}
}
