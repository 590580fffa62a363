/* SPDX-License-Identifier: Apache-2.0 */
/* cosign 3's default signature: a Sigstore bundle v0.3 (protobuf-specs,
 * protojson) holding a DSSE envelope whose payload is an in-toto Statement
 * v1 naming the image's digest, with predicateType
 * https://sigstore.dev/cosign/sign/v1:
 *   {"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",
 *    "verificationMaterial":{"publicKey":{"hint":...},"tlogEntries":[...]},
 *    "dsseEnvelope":{"payload":B64(statement),
 *      "payloadType":"application/vnd.in-toto+json",
 *      "signatures":[{"sig":B64,"keyid":...}]}}
 * The signature is over DSSE's PAE, "DSSEv1 <len> <type> <len> <payload>".
 *
 * Key-based only: the configured key is the only thing trusted. The bundle's
 * hint, certificates, transparency-log entries and timestamps are
 * shape-checked and never believed (no Fulcio, no Rekor): a keyless bundle
 * simply is not signed by any configured key. Like sigstore-go, an envelope
 * must hold exactly one signature. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "key.h"

/* A key-based bundle is ~1 KiB; with a certificate and Rekor entries ~10 KiB. */
#define BUNDLE_SIZE_MAX (256u * 1024)
/* The statement, decoded: as big as a classic payload may be. */
#define BUNDLE_STATEMENT_MAX (64u * 1024)
#define BUNDLE_SUBJECTS_MAX 32u
#define BUNDLE_TLOG_ENTRIES_MAX 32u
#define BUNDLE_MEDIA_TYPE "application/vnd.dev.sigstore.bundle.v0.3+json"
/* The other spelling protobuf-specs allows for v0.3. */
#define BUNDLE_MEDIA_TYPE_ALT "application/vnd.dev.sigstore.bundle+json;version=0.3"
#define BUNDLE_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define BUNDLE_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
/* What `cosign sign` writes; attestations (SLSA, SBOM) are not signatures. */
#define BUNDLE_PREDICATE_TYPE "https://sigstore.dev/cosign/sign/v1"

/* A parsed bundle: what the signature covers, not yet checked. */
struct bundle {
	char *payload_type;
	unsigned char *payload; /* the statement's bytes (NUL after them) */
	size_t payload_size;
	unsigned char *signature;
	size_t signature_size;
	bool keyless; /* verification material is a certificate (never trusted) */
};
void bundle_done(struct bundle *b);

/* Strict: at most BUNDLE_SIZE_MAX bytes (-E2BIG); duplicate keys anywhere,
 * a member not in protobuf-specs' Bundle v0.3, a mediaType other than
 * v0.3's, a messageSignature instead of a dsseEnvelope, verification
 * material that is not exactly one of publicKey / certificate /
 * x509CertificateChain, over BUNDLE_TLOG_ENTRIES_MAX entries, a payloadType
 * other than in-toto's, not exactly one signature, payload or sig not
 * strict base64 (or over their bounds): -EBADMSG with *ret_reason. */
int bundle_parse(const void *json, size_t size, struct bundle *ret, const char **ret_reason);

/* DSSE v1's pre-authentication encoding of (type, payload), the bytes
 * signed. *ret is a new buffer. */
int dsse_pae(const char *payload_type, const void *payload, size_t size, unsigned char **ret, size_t *ret_size);

struct bundle_result {
	/* The name of the subject that matched ("HOST/REPO"), or NULL: cosign 3
	 * writes subjects without a name, so a bundle usually carries no
	 * identity, only the digest. */
	char *identity;
	char digest[7 + 64 + 1];
};
void bundle_result_done(struct bundle_result *r);

/* Checks a statement's bytes (after its signature verified): exactly
 * _type (Statement v1), subject, predicateType (BUNDLE_PREDICATE_TYPE),
 * predicate (an object, optional); 1..BUNDLE_SUBJECTS_MAX subjects, each an
 * in-toto ResourceDescriptor with a digest map whose sha256 (when present)
 * is 64 lowercase hex and a printable name (when present). -EBADMSG with
 * *ret_reason; -EXDEV: no subject's sha256 is one of expected_digests
 * (ret->digest then holds the first subject's, for the message). */
int bundle_statement_check(const void *json, size_t size, const char *const *expected_digests,
			   struct bundle_result *ret, const char **ret_reason);

/* Checks one bundle as simple_signing_verify() checks a classic signature:
 * 0 only if it parses, its one DSSE signature is key's signature of the PAE
 * of its payload, and the statement names one of expected_digests
 * (NULL-terminated: the manifest and, for a platform picked from an index,
 * the index). Then *ret (if not NULL) gets the matching subject's name and
 * digest. The statement is parsed only after the signature verified.
 * -EKEYREJECTED: not this key's signature (not logged: the caller tries
 * several keys and bundles); -EBADMSG / -E2BIG: the bundle (logged as a
 * warning: unsigned junk decides nothing) or the signed statement (logged
 * as an error); -EXDEV: signed, but for another image (logged). */
int bundle_verify(const void *json, size_t size, const struct trust_key *key, const char *const *expected_digests,
		  struct bundle_result *ret);
