/* SPDX-License-Identifier: Apache-2.0 */
/* Image identities as containers-policy.json(5) sees them: Docker
 * references in their fully expanded form ("docker.io/library/busybox:1"),
 * and the signedIdentity rules that decide whether the identity a signature
 * claims (the "docker-reference" of a cosign payload) fits the image being
 * pulled. The answers are containers/image's
 * (signature/policy_reference_match.go); test_identity.c carries its test
 * tables. Pure functions: no I/O, no allocation.
 *
 * trust/ sits below oci/, so it cannot use oci/reference.h; this is the
 * distribution grammar that containers/image applies (normalized names,
 * lowercase paths, tags, sha256/sha384/sha512 digests), which is also what
 * a signed identity must be parsed with. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define IDENTITY_NAME_MAX 255 /* domain "/" path, as distribution limits it */
#define IDENTITY_TAG_MAX 128
#define IDENTITY_DIGEST_MAX (7 + 128) /* "sha512:" and 128 hex */

/* Buffers for identity_ref_format() and identity_ref_name(): room for
 * every field at its largest (the name itself stays within 255). */
#define IDENTITY_REF_STRING_MAX (2 * (IDENTITY_NAME_MAX + 1) + IDENTITY_TAG_MAX + IDENTITY_DIGEST_MAX + 4)

/* A parsed, normalized reference. Empty strings for an absent tag or digest. */
struct identity_ref {
	char domain[IDENTITY_NAME_MAX + 1]; /* "docker.io", "localhost:5000", "[::1]:5000" */
	char path[IDENTITY_NAME_MAX + 1];   /* "library/busybox" */
	char tag[IDENTITY_TAG_MAX + 1];
	char digest[IDENTITY_DIGEST_MAX + 1];
};

/* A reference as a user or a signer writes it ("busybox", "quay.io/a/b:1",
 * "x@sha256:..."), normalized like containers/image's ParseNormalizedNamed:
 * a first component without '.' or ':' that is not "localhost" is a path
 * on docker.io; docker.io's single names get
 * "library/"; "index.docker.io" is docker.io. No default tag is added.
 * -EINVAL when s is not a reference (NULL, empty, uppercase path, 64-hex
 * id, bad tag or digest, name over 255 characters). */
int identity_ref_parse(const char *s, struct identity_ref *ret);
/* The same, but s must already be in the fully expanded form
 * (ParseNamed): "busybox:1" is -EINVAL, "docker.io/library/busybox:1" is
 * not. */
int identity_ref_parse_canonical(const char *s, struct identity_ref *ret);
/* The image being pulled, from the parts oci/reference.h split it into
 * (registry "docker.io", repository "library/debian", tag and digest
 * NULL when absent), checked against the same grammar. -EINVAL otherwise. */
int identity_ref_from_parts(const char *registry, const char *repository, const char *tag, const char *digest,
			    struct identity_ref *ret);

static inline bool identity_ref_is_name_only(const struct identity_ref *r)
{
	return !r->tag[0] && !r->digest[0];
}
/* "domain/path" into buf; the length it needs, like snprintf(). */
size_t identity_ref_name(const struct identity_ref *r, char *buf, size_t size);
/* "domain/path[:tag][@digest]" into buf; the length it needs. */
size_t identity_ref_format(const struct identity_ref *r, char *buf, size_t size);

/* Whether s may be a remapIdentity prefix or signedPrefix: host[:port], or
 * host[:port]/path without tag or digest (validateIdentityRemappingPrefix). */
bool identity_prefix_is_valid(const char *s);

/* Whether s is a scope of containers-policy.json's docker transport that
 * can match something: host[:port] (with a '.' or ':', or "localhost",
 * since a name without one is on docker.io), host[:port]/path, with an
 * optional :tag or @digest, not through "index.docker.io"; or "*.domain"
 * (the subdomains of domain, any port). "" is the transport's default and
 * is not checked here. */
bool identity_scope_is_valid(const char *s);

/* containers-policy.json's signedIdentity types. */
enum identity_rule_type {
	IDENTITY_MATCH_REPO_DIGEST_OR_EXACT, /* the default when signedIdentity is absent */
	IDENTITY_MATCH_EXACT,
	IDENTITY_MATCH_REPOSITORY,
	IDENTITY_EXACT_REFERENCE,  /* value: dockerReference */
	IDENTITY_EXACT_REPOSITORY, /* value: dockerRepository */
	IDENTITY_REMAP,            /* prefix -> signed_prefix, then matchRepoDigestOrExact */
	_IDENTITY_RULE_TYPE_MAX,
};

struct identity_rule {
	enum identity_rule_type type;
	const char *value;         /* exactReference / exactRepository */
	const char *prefix;        /* remapIdentity */
	const char *signed_prefix; /* remapIdentity */
};

/* The JSON "type" string and back (-EINVAL for an unknown one). */
const char *identity_rule_type_to_string(enum identity_rule_type t);
int identity_rule_type_from_string(const char *s);

/* Whether a signature claiming signed_reference is acceptable for image
 * under rule. image NULL (an image with no registry identity) never
 * matches; neither does a signed_reference that does not parse. Note what
 * containers-policy.json(5) says: cosign signs a repository ("quay.io/a/b",
 * no tag), which only matchRepository and exactRepository accept; and that
 * does not stop a signed older image from being served under the tag (the
 * anti-downgrade rule in downgrade.h does). */
bool identity_matches(const struct identity_rule *rule, const struct identity_ref *image, const char *signed_reference);
