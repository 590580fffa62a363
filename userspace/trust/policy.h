/* SPDX-License-Identifier: Apache-2.0 */
/* The signature policy: containers-policy.json(5), the file users already
 * write for podman, skopeo and bootc (/etc/containers/policy.json).
 *
 * Parsing is strict, as containers/image's is: unknown fields, duplicate
 * keys, wrong types, an empty requirement list or a missing "default"
 * refuse the whole file, and a file that does not parse must refuse every
 * image (the caller's rule; the error names the file, the JSON path and
 * the problem). Bounded: POLICY_SIZE_MAX bytes, nesting depth, and counts
 * of transports, scopes, requirements and keys.
 *
 * What is read:
 *   default                       required, a non-empty requirement list
 *   transports.docker             scopes: "" (the transport's default),
 *                                 host[:port], host[:port]/namespace...,
 *                                 host[:port]/repo, host[:port]/repo:tag or
 *                                 @digest, and "*.example.com" (subdomains);
 *                                 the most specific one that matches wins
 *   transports.OTHER              parsed just as strictly but not used
 *                                 (kairos-upgrade fetches from registries;
 *                                 a stock Fedora policy has "docker-daemon"),
 *                                 listed in ignored_transports so that
 *                                 status can say so; local archives get
 *                                 "default"
 * Requirement types:
 *   insecureAcceptAnything, reject
 *   sigstoreSigned                exactly one of keyPath (absolute),
 *                                 keyPaths, keyData (base64 of a PEM public
 *                                 key), keyDatas; signedIdentity (default
 *                                 matchRepoDigestOrExact; see identity.h)
 *   sigstoreSigned with fulcio, pki or rekorPublicKey*: keyless, and
 *   signedBy (GPG): parsed, kept as POLICY_UNSUPPORTED. They refuse the
 *   images of their scope with a clear reason, not the whole file: a stock
 *   Fedora/RHEL policy.json names GPG keys for registry.redhat.io, and an
 *   image carrying it must still be able to upgrade from elsewhere. A
 *   requirement we cannot check never accepts anything.
 *   signedBaseLayer and unknown types refuse the file.
 *
 * Pure: policy_parse() reads only its buffer. Key files named by keyPath
 * are read by the caller (relative to the root the policy came from). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "identity.h"

#define POLICY_SIZE_MAX (1024 * 1024)
#define POLICY_DEPTH_MAX 16 /* the format needs 7 */
#define POLICY_TRANSPORTS_MAX 64
#define POLICY_SCOPES_MAX 4096          /* per transport */
#define POLICY_REQUIREMENTS_MAX 64      /* per scope */
#define POLICY_KEYS_MAX 64              /* per requirement */
#define POLICY_KEY_DATA_MAX (64 * 1024) /* one decoded keyData */

enum policy_requirement_type {
	POLICY_INSECURE_ACCEPT_ANYTHING,
	POLICY_REJECT,
	POLICY_SIGSTORE_SIGNED, /* by one of keys, identity as signed_identity says */
	POLICY_UNSUPPORTED,     /* signedBy, keyless sigstoreSigned: refuses, see why */
};

/* A public key: a file (path set, pem NULL) or inline PEM bytes. */
struct policy_key {
	char *path;
	unsigned char *pem;
	size_t pem_size;
};

struct policy_requirement {
	enum policy_requirement_type type;
	const char *unsupported_why; /* static text for POLICY_UNSUPPORTED */
	struct policy_key *keys;
	size_t n_keys;
	struct identity_rule signed_identity; /* its strings are owned here */
};

struct policy_requirements {
	char *scope; /* "" for a transport's default, NULL for the global default */
	struct policy_requirement *items;
	size_t n_items;
};

struct policy {
	char *file;                          /* as named in messages */
	struct policy_requirements fallback; /* "default" */
	struct policy_requirements *docker;  /* transports.docker, in file order */
	size_t n_docker;
	char **ignored_transports;
	size_t n_ignored_transports;
};

/* Why a policy did not parse: "FILE: $.transports.docker["quay.io/a"][0].keyData:
 * not valid base64" (printable: names in it are sanitized). */
struct policy_error {
	char message[768];
};

/* Parses size bytes of buf; file names the source in messages. 0 and
 * *ret on success; -EBADMSG (JSON, field, type, value), -E2BIG (over a
 * bound), -ENOMEM, and error->message says which and where. */
int policy_parse(const void *buf, size_t size, const char *file, struct policy **ret, struct policy_error *error);
/* Reads and parses path (a regular file, at most POLICY_SIZE_MAX bytes).
 * -ENOENT when there is none (the caller's "no policy": unsigned images,
 * as before), other errors as above. */
int policy_load(const char *path, struct policy **ret, struct policy_error *error);

struct policy *policy_free(struct policy *p);
static inline void policy_freep(struct policy **p)
{
	if (*p)
		policy_free(*p);
}

/* The requirements for an image from a registry: the most specific
 * transports.docker scope matching image (the full reference, then its
 * repository, each parent namespace, the host[:port], then *.domain
 * wildcards of the host without port from the longest), else
 * transports.docker[""], else "default". Never NULL. */
const struct policy_requirements *policy_lookup_docker(const struct policy *p, const struct identity_ref *image);

/* What the requirements decide before any signature is looked at:
 * -EACCES when one is "reject", -EOPNOTSUPP when one is unsupported (*why
 * says which), else 0; *need_signature says whether any sigstoreSigned
 * remains to be satisfied (each by at least one valid signature made by
 * one of its keys, with an identity that identity_matches() accepts). */
int policy_requirements_check(const struct policy_requirements *reqs, bool *need_signature, const char **why);

const char *policy_requirement_type_to_string(enum policy_requirement_type t);
