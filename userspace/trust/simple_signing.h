/* SPDX-License-Identifier: Apache-2.0 */
/* cosign's classic signature payload ("simple signing", containers'
 * containers-signature.5 format as cosign writes it):
 *   {"critical":{"identity":{"docker-reference":"REG/REPO"},
 *    "image":{"docker-manifest-digest":"sha256:HEX"},
 *    "type":"cosign container image signature"},"optional":{...}|null}
 * It is the blob of a layer of the `sha256-HEX.sig` manifest; the layer's
 * annotation dev.cosignproject.cosign/signature is the base64 signature of
 * the payload's exact bytes. Matching docker-reference against a policy is
 * the caller's (policy.h); this file says who signed which digest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "key.h"

/* A payload is a few hundred bytes; cosign's annotations (-a k=v) make it
 * longer, never near this. */
#define SIMPLE_SIGNING_PAYLOAD_MAX (64u * 1024)
/* The signature annotation's text: base64 of TRUST_SIGNATURE_MAX bytes. */
#define SIMPLE_SIGNING_SIGNATURE_B64_MAX ((TRUST_SIGNATURE_MAX + 2) / 3 * 4)
#define SIMPLE_SIGNING_REFERENCE_MAX 1024u
#define SIMPLE_SIGNING_TYPE "cosign container image signature"
#define SIMPLE_SIGNING_MEDIA_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define SIMPLE_SIGNING_ANNOTATION "dev.cosignproject.cosign/signature"

/* The signed dm-verity root hash (issue 17), in the payload's "optional"
 * as `kairos-upgrade sign --verity` writes it (cosign sign -a works too):
 * the image's root hash as a node builds it, and the build settings it was
 * built with (build_record_string(), for the message when a node's differ).
 * Both or neither; the hash 64 lowercase hex; the settings 1 to
 * SIMPLE_SIGNING_VERITY_BUILD_MAX printable ASCII chars. */
#define SIMPLE_SIGNING_VERITY_ROOT_HASH_KEY "dev.kairos.verity.root_hash"
#define SIMPLE_SIGNING_VERITY_BUILD_KEY "dev.kairos.verity.build"
#define SIMPLE_SIGNING_VERITY_BUILD_MAX 256u

struct simple_signing {
	char *docker_reference;
	char digest[7 + 64 + 1];       /* "sha256:" + hex */
	char verity_root_hash[64 + 1]; /* "" when the payload carries none */
	char verity_build[SIMPLE_SIGNING_VERITY_BUILD_MAX + 1];
};
void simple_signing_done(struct simple_signing *s);

/* Strict: at most SIMPLE_SIGNING_PAYLOAD_MAX bytes (-E2BIG); duplicate
 * keys anywhere, a member of the top level other than critical/optional,
 * a member of critical, identity or image other than the ones above, a
 * type other than SIMPLE_SIGNING_TYPE, a digest that is not sha256 + 64
 * lowercase hex, a docker-reference that is empty, longer than
 * SIMPLE_SIGNING_REFERENCE_MAX or not printable ASCII, an optional that is
 * neither an object nor null, a malformed signed root hash (one of its
 * two keys without the other, a value not as above): -EBADMSG, and
 * *ret_reason (if not NULL) says which. A malformed root hash refuses the
 * whole signature: the signer meant to pin the image, and a value we cannot
 * read must not read as "no pin". Other optional members are not read. */
int simple_signing_parse(const void *payload, size_t size, struct simple_signing *ret, const char **ret_reason);

/* Whether s is a signed root hash value we accept: 64 lowercase hex; a
 * build string: 1..SIMPLE_SIGNING_VERITY_BUILD_MAX printable ASCII. */
bool simple_signing_root_hash_is_valid(const char *s);
bool simple_signing_verity_build_is_valid(const char *s);

/* Whether s is "sha256:" + 64 lowercase hex (the only form ever signed). */
bool simple_signing_digest_is_valid(const char *s);

/* Checks one signature: 0 only if signature_b64 (strict base64, at most
 * SIMPLE_SIGNING_SIGNATURE_B64_MAX chars) is key's signature of exactly
 * payload[0..size), the payload parses, and its digest is one of
 * expected_digests (NULL-terminated: the manifest being installed and, when
 * it was chosen from a multi-platform index, the index's digest). Then
 * *ret (if not NULL) gets the signed identity, for the policy to match,
 * and the digest that was signed. The signature is checked before the
 * payload is parsed.
 * -EKEYREJECTED: not this key's signature of these bytes (or not base64,
 * or not DER): not logged, as a caller tries several keys and signatures;
 * -EBADMSG / -E2BIG: the payload (logged); -EXDEV: signed, but for another
 * image (logged). */
int simple_signing_verify(const void *payload, size_t size, const char *signature_b64, const struct trust_key *key,
			  const char *const *expected_digests, struct simple_signing *ret);

/* One `cosign sign -a KEY=VALUE` annotation. */
struct simple_signing_annotation {
	const char *key;
	const char *value;
};

/* The payload exactly as cosign (Go's encoding/json) writes it: that key
 * order, no blanks, "optional":null without annotations, else the
 * annotations sorted by key; in strings <, >, & and U+2028/U+2029 as
 * \uXXXX, as Go does. *ret is NUL-terminated, *ret_size without the NUL.
 * -EINVAL: a bad digest or reference, an annotation twice, a string not
 * UTF-8. */
int simple_signing_write(const char *docker_reference, const char *digest,
			 const struct simple_signing_annotation *annotations, size_t n_annotations, char **ret,
			 size_t *ret_size);

/* The annotation's value for payload: base64 of key's signature. */
int simple_signing_sign(const struct trust_private_key *key, const void *payload, size_t size,
			char **ret_signature_b64);
