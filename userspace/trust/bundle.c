/* SPDX-License-Identifier: Apache-2.0 */
#include "bundle.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "base64.h"
#include "log.h"
#include "sanitize.h"
#include "simple_signing.h"
#include "util.h"

#define HINT_MAX 256u
#define KEYID_MAX 256u
#define NAME_MAX_CHARS 1024u
#define DIGESTS_MAX 32u

void bundle_done(struct bundle *b)
{
	free(b->payload_type);
	free(b->payload);
	free(b->signature);
	*b = (struct bundle){};
}

void bundle_result_done(struct bundle_result *r)
{
	free(r->identity);
	*r = (struct bundle_result){};
}

#define REFUSE(why)                          \
	do {                                 \
		if (ret_reason)              \
			*ret_reason = (why); \
		return -EBADMSG;             \
	} while (0)

/* Whether every member of object o is one of names (none required). */
static bool only_members(json_t *o, const char *const *names, size_t n)
{
	if (!json_is_object(o))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		bool known = false;
		for (size_t i = 0; i < n && !known; i++)
			known = streq(k, names[i]);
		if (!known)
			return false;
	}
	return true;
}

/* A string member: absent is fine, otherwise a string of printable ASCII. */
static bool optional_printable(json_t *o, const char *name, size_t max)
{
	json_t *v = json_object_get(o, name);
	return !v || (json_is_string(v) && sanitize_is_printable_ascii(json_string_value(v), max));
}

/* A JSON string of strict base64 decoding to at most max bytes. */
static int decode_b64(json_t *v, size_t max, unsigned char **ret, size_t *ret_size)
{
	if (!json_is_string(v))
		return -EBADMSG;
	return base64_decode_strict(json_string_value(v), json_string_length(v), max, ret, ret_size);
}

static json_t *load_strict(const void *json, size_t size, const char **ret_reason)
{
	json_error_t error;
	json_t *root = json_loadb(json, size, JSON_REJECT_DUPLICATES, &error);
	if (ret_reason && !root)
		*ret_reason = json_error_code(&error) == json_error_duplicate_key ? "a JSON key twice in one object"
										  : "not JSON";
	return root;
}

static int parse_material(json_t *m, bool *ret_keyless, const char **ret_reason)
{
	static const char *const names[] = { "publicKey", "certificate", "x509CertificateChain", "tlogEntries",
					     "timestampVerificationData" };
	if (!only_members(m, names, ELEMENTSOF(names)))
		REFUSE("verificationMaterial is not an object of publicKey, certificate, x509CertificateChain, "
		       "tlogEntries and timestampVerificationData");
	json_t *pk = json_object_get(m, "publicKey");
	json_t *cert = json_object_get(m, "certificate");
	json_t *chain = json_object_get(m, "x509CertificateChain");
	if (!!pk + !!cert + !!chain != 1)
		REFUSE("verificationMaterial holds not exactly one of publicKey, certificate, x509CertificateChain");
	static const char *const pk_names[] = { "hint" };
	if (pk && (!only_members(pk, pk_names, 1) || !optional_printable(pk, "hint", HINT_MAX)))
		REFUSE("publicKey is not an object with a printable hint");
	/* Certificates are never trusted here: only their shape matters. */
	if ((cert && !json_is_object(cert)) || (chain && !json_is_object(chain)))
		REFUSE("certificate or x509CertificateChain is not an object");
	json_t *tlog = json_object_get(m, "tlogEntries");
	if (tlog && (!json_is_array(tlog) || json_array_size(tlog) > BUNDLE_TLOG_ENTRIES_MAX))
		REFUSE("tlogEntries is not an array of at most 32 entries");
	size_t i;
	json_t *e;
	json_array_foreach(tlog, i, e) if (!json_is_object(e)) REFUSE("a tlogEntries entry is not an object");
	json_t *ts = json_object_get(m, "timestampVerificationData");
	if (ts && !json_is_object(ts))
		REFUSE("timestampVerificationData is not an object");
	*ret_keyless = !pk;
	return 0;
}

static int parse_envelope(json_t *env, struct bundle *b, const char **ret_reason)
{
	static const char *const names[] = { "payload", "payloadType", "signatures" };
	if (!only_members(env, names, ELEMENTSOF(names)) || json_object_size(env) != ELEMENTSOF(names))
		REFUSE("dsseEnvelope is not exactly payload, payloadType and signatures");
	const char *type = json_string_value(json_object_get(env, "payloadType"));
	if (!type || !streq(type, BUNDLE_PAYLOAD_TYPE))
		REFUSE("payloadType is not " BUNDLE_PAYLOAD_TYPE);
	json_t *sigs = json_object_get(env, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) != 1)
		REFUSE("the envelope does not hold exactly one signature");
	json_t *sig = json_array_get(sigs, 0);
	static const char *const sig_names[] = { "sig", "keyid" };
	if (!only_members(sig, sig_names, ELEMENTSOF(sig_names)) || !json_object_get(sig, "sig"))
		REFUSE("the signature is not an object of sig and keyid");
	/* protojson leaves an empty keyid out; npm's library writes the hint. */
	json_t *keyid = json_object_get(sig, "keyid");
	if (keyid && (!json_is_string(keyid) || json_string_length(keyid) > KEYID_MAX))
		REFUSE("keyid is not a string of at most 256 chars");
	int r = decode_b64(json_object_get(sig, "sig"), TRUST_SIGNATURE_MAX, &b->signature, &b->signature_size);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || b->signature_size == 0)
		REFUSE("sig is not strict base64 of 1 to 1024 bytes");
	r = decode_b64(json_object_get(env, "payload"), BUNDLE_STATEMENT_MAX, &b->payload, &b->payload_size);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		REFUSE("payload is not strict base64 of at most 64 KiB");
	b->payload_type = strdup(type);
	return b->payload_type ? 0 : -ENOMEM;
}

int bundle_parse(const void *json, size_t size, struct bundle *ret, const char **ret_reason)
{
	if (size > BUNDLE_SIZE_MAX) {
		if (ret_reason)
			*ret_reason = "bundle larger than 256 KiB";
		return -E2BIG;
	}
	_cleanup_(json_decrefp) json_t *root = load_strict(json, size, ret_reason);
	if (!root)
		return -EBADMSG;
	static const char *const names[] = { "mediaType", "verificationMaterial", "dsseEnvelope", "messageSignature" };
	if (!only_members(root, names, ELEMENTSOF(names)))
		REFUSE("not an object of mediaType, verificationMaterial and dsseEnvelope");
	const char *media_type = json_string_value(json_object_get(root, "mediaType"));
	if (!media_type || !(streq(media_type, BUNDLE_MEDIA_TYPE) || streq(media_type, BUNDLE_MEDIA_TYPE_ALT)))
		REFUSE("mediaType is not " BUNDLE_MEDIA_TYPE);
	if (json_object_get(root, "messageSignature"))
		REFUSE("a messageSignature, not a dsseEnvelope (cosign signs images with DSSE)");
	json_t *material = json_object_get(root, "verificationMaterial");
	json_t *env = json_object_get(root, "dsseEnvelope");
	if (!material || !env)
		REFUSE("verificationMaterial or dsseEnvelope missing");

	_cleanup_(bundle_done) struct bundle b = {};
	int r = parse_material(material, &b.keyless, ret_reason);
	if (r >= 0)
		r = parse_envelope(env, &b, ret_reason);
	if (r < 0)
		return r;
	*ret = b;
	b = (struct bundle){};
	return 0;
}

int dsse_pae(const char *payload_type, const void *payload, size_t size, unsigned char **ret, size_t *ret_size)
{
	char head[128];
	size_t type_len = strlen(payload_type);
	int n = snprintf(head, sizeof(head), "DSSEv1 %zu ", type_len);
	char mid[32];
	int m = snprintf(mid, sizeof(mid), " %zu ", size);
	if (n < 0 || m < 0 || size > SIZE_MAX / 2 || type_len > SIZE_MAX / 4)
		return -EINVAL;
	size_t total = (size_t) n + type_len + (size_t) m + size;
	unsigned char *buf = malloc(total ? total : 1);
	if (!buf)
		return -ENOMEM;
	unsigned char *p = buf;
	memcpy(p, head, (size_t) n);
	p += n;
	memcpy(p, payload_type, type_len);
	p += type_len;
	memcpy(p, mid, (size_t) m);
	p += m;
	if (size)
		memcpy(p, payload, size);
	*ret = buf;
	*ret_size = total;
	return 0;
}

static int check_subject(json_t *s, const char **ret_name, const char **ret_sha256, const char **ret_reason)
{
	/* in-toto v1 ResourceDescriptor */
	static const char *const names[] = { "name",       "uri", "digest", "content", "mediaType", "downloadLocation",
					     "annotations" };
	if (!only_members(s, names, ELEMENTSOF(names)))
		REFUSE("a subject is not an in-toto ResourceDescriptor");
	if (!optional_printable(s, "name", NAME_MAX_CHARS))
		REFUSE("a subject's name is not printable ASCII of 1 to 1024 chars");
	static const char *const strings[] = { "uri", "content", "mediaType", "downloadLocation" };
	for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
		json_t *v = json_object_get(s, strings[i]);
		if (v && !json_is_string(v))
			REFUSE("a subject's uri, content, mediaType or downloadLocation is not a string");
	}
	json_t *ann = json_object_get(s, "annotations");
	if (ann && !json_is_object(ann))
		REFUSE("a subject's annotations is not an object");
	json_t *digest = json_object_get(s, "digest");
	if (!json_is_object(digest) || json_object_size(digest) == 0 || json_object_size(digest) > DIGESTS_MAX)
		REFUSE("a subject's digest is not an object of 1 to 32 digests");
	const char *k;
	json_t *v;
	json_object_foreach(digest, k, v) if (!json_is_string(v)) REFUSE("a subject's digest value is not a string");
	const char *sha = json_string_value(json_object_get(digest, "sha256"));
	if (sha) {
		char full[7 + 64 + 2];
		if (snprintf(full, sizeof(full), "sha256:%s", sha) >= (int) sizeof(full) ||
		    !simple_signing_digest_is_valid(full))
			REFUSE("a subject's sha256 is not 64 lowercase hex digits");
	}
	*ret_name = json_string_value(json_object_get(s, "name"));
	*ret_sha256 = sha;
	return 0;
}

int bundle_statement_check(const void *json, size_t size, const char *const *expected_digests,
			   struct bundle_result *ret, const char **ret_reason)
{
	if (size > BUNDLE_STATEMENT_MAX)
		REFUSE("statement larger than 64 KiB");
	_cleanup_(json_decrefp) json_t *root = load_strict(json, size, ret_reason);
	if (!root)
		return -EBADMSG;
	static const char *const names[] = { "_type", "subject", "predicateType", "predicate" };
	if (!only_members(root, names, ELEMENTSOF(names)) || !json_object_get(root, "_type") ||
	    !json_object_get(root, "subject") || !json_object_get(root, "predicateType"))
		REFUSE("the statement is not exactly _type, subject, predicateType and predicate");
	const char *type = json_string_value(json_object_get(root, "_type"));
	if (!type || !streq(type, BUNDLE_STATEMENT_TYPE))
		REFUSE("_type is not " BUNDLE_STATEMENT_TYPE);
	const char *predicate_type = json_string_value(json_object_get(root, "predicateType"));
	if (!predicate_type || !streq(predicate_type, BUNDLE_PREDICATE_TYPE))
		REFUSE("predicateType is not " BUNDLE_PREDICATE_TYPE " (an attestation is not a signature)");
	json_t *predicate = json_object_get(root, "predicate");
	if (predicate && !json_is_object(predicate))
		REFUSE("predicate is not an object");
	json_t *subjects = json_object_get(root, "subject");
	if (!json_is_array(subjects) || json_array_size(subjects) == 0 ||
	    json_array_size(subjects) > BUNDLE_SUBJECTS_MAX)
		REFUSE("subject is not a list of 1 to 32 subjects");

	const char *match_name = NULL, *match = NULL, *first = NULL;
	size_t i;
	json_t *s;
	json_array_foreach(subjects, i, s)
	{
		const char *name = NULL, *sha = NULL;
		int r = check_subject(s, &name, &sha, ret_reason);
		if (r < 0)
			return r;
		if (!sha)
			continue;
		if (!first)
			first = sha;
		for (size_t j = 0; !match && expected_digests && expected_digests[j]; j++)
			if (strncmp(expected_digests[j], "sha256:", 7) == 0 && streq(expected_digests[j] + 7, sha)) {
				match = sha;
				match_name = name;
			}
	}
	if (!match) {
		snprintf(ret->digest, sizeof(ret->digest), "sha256:%s", first ?: "(none)");
		if (ret_reason)
			*ret_reason = "no subject names the expected digest";
		return -EXDEV;
	}
	char *identity = NULL;
	if (match_name && !(identity = strdup(match_name)))
		return -ENOMEM;
	ret->identity = identity;
	snprintf(ret->digest, sizeof(ret->digest), "sha256:%s", match);
	return 0;
}

int bundle_verify(const void *json, size_t size, const struct trust_key *key, const char *const *expected_digests,
		  struct bundle_result *ret)
{
	const char *reason = NULL;
	_cleanup_(bundle_done) struct bundle b = {};
	int r = bundle_parse(json, size, &b, &reason);
	if (r == -ENOMEM)
		return log_error_errno(r, "Out of memory");
	if (r < 0)
		return log_warning_errno(r, "Sigstore bundle refused: %s", reason);

	_cleanup_free_ unsigned char *pae = NULL;
	size_t pae_size = 0;
	r = dsse_pae(b.payload_type, b.payload, b.payload_size, &pae, &pae_size);
	if (r < 0)
		return log_error_errno(r, "Out of memory");
	if (trust_key_verify(key, pae, pae_size, b.signature, b.signature_size) < 0)
		return log_debug_errno(-EKEYREJECTED, "Sigstore bundle%s not signed by key %s",
				       b.keyless ? " (keyless: a certificate, not supported)" : "",
				       trust_key_fingerprint(key));

	/* Only signed bytes reach the statement's parser. */
	_cleanup_(bundle_result_done) struct bundle_result result = {};
	r = bundle_statement_check(b.payload, b.payload_size, expected_digests, &result, &reason);
	if (r == -ENOMEM)
		return log_error_errno(r, "Out of memory");
	if (r == -EXDEV)
		return log_error_errno(r, "Sigstore bundle signed by key %s is for %s, not for %s",
				       trust_key_fingerprint(key), result.digest,
				       expected_digests && expected_digests[0] ? expected_digests[0] : "(none)");
	if (r < 0)
		return log_error_errno(r, "Statement signed by key %s refused: %s", trust_key_fingerprint(key), reason);
	if (ret) {
		*ret = result;
		result = (struct bundle_result){};
	}
	return 0;
}
