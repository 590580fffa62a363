/* SPDX-License-Identifier: Apache-2.0 */
#include "simple_signing.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "base64.h"
#include "log.h"
#include "sanitize.h"
#include "strict_json.h"
#include "util.h"

void simple_signing_done(struct simple_signing *s)
{
	free(s->docker_reference);
	s->docker_reference = NULL;
	s->digest[0] = '\0';
	s->verity_root_hash[0] = '\0';
	s->verity_build[0] = '\0';
}

bool simple_signing_root_hash_is_valid(const char *s)
{
	size_t n = 0;
	for (; s && s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

bool simple_signing_digest_is_valid(const char *s)
{
	static const char prefix[] = "sha256:";
	return s && strncmp(s, prefix, sizeof(prefix) - 1) == 0 &&
	       simple_signing_root_hash_is_valid(s + sizeof(prefix) - 1);
}

bool simple_signing_verity_build_is_valid(const char *s)
{
	return sanitize_is_printable_ascii(s, SIMPLE_SIGNING_VERITY_BUILD_MAX);
}

static bool reference_is_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SIMPLE_SIGNING_REFERENCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

#define REFUSE(why)                          \
	do {                                 \
		if (ret_reason)              \
			*ret_reason = (why); \
		return -EBADMSG;             \
	} while (0)

int simple_signing_parse(const void *payload, size_t size, struct simple_signing *ret, const char **ret_reason)
{
	if (size > SIMPLE_SIGNING_PAYLOAD_MAX) {
		if (ret_reason)
			*ret_reason = "payload larger than 64 KiB";
		return -E2BIG;
	}
	json_error_t error;
	_cleanup_(json_decrefp) json_t *root = json_loadb(payload, size, JSON_REJECT_DUPLICATES, &error);
	if (!root && json_error_code(&error) == json_error_duplicate_key)
		REFUSE("a JSON key twice in one object");
	if (!root)
		REFUSE("not JSON");
	if (!json_is_object(root))
		REFUSE("not a JSON object");

	json_t *optional = json_object_get(root, "optional");
	size_t top = optional ? 2 : 1;
	if (json_object_size(root) != top || !json_object_get(root, "critical"))
		REFUSE("top level is not critical and optional");
	if (optional && !json_is_object(optional) && !json_is_null(optional))
		REFUSE("optional is neither an object nor null");

	static const char *const critical_names[] = { "identity", "image", "type" };
	json_t *critical = json_object_get(root, "critical");
	if (!strict_json_has_exactly(critical, critical_names, ELEMENTSOF(critical_names)))
		REFUSE("critical is not exactly identity, image and type");
	const char *type = json_string_value(json_object_get(critical, "type"));
	if (!type || !streq(type, SIMPLE_SIGNING_TYPE))
		REFUSE("type is not \"" SIMPLE_SIGNING_TYPE "\"");

	static const char *const identity_names[] = { "docker-reference" };
	json_t *identity = json_object_get(critical, "identity");
	if (!strict_json_has_exactly(identity, identity_names, 1))
		REFUSE("identity is not exactly docker-reference");
	const char *reference = json_string_value(json_object_get(identity, "docker-reference"));
	if (!reference || !reference_is_valid(reference))
		REFUSE("docker-reference is not a printable string of 1 to 1024 chars");

	static const char *const image_names[] = { "docker-manifest-digest" };
	json_t *image = json_object_get(critical, "image");
	if (!strict_json_has_exactly(image, image_names, 1))
		REFUSE("image is not exactly docker-manifest-digest");
	const char *digest = json_string_value(json_object_get(image, "docker-manifest-digest"));
	if (!digest || !simple_signing_digest_is_valid(digest))
		REFUSE("docker-manifest-digest is not sha256: and 64 lowercase hex digits");

	/* The signed root hash: json_string_value() is NULL for a non-string,
	 * and jansson keeps a string's length (an embedded NUL is refused). */
	json_t *hash_json = json_object_get(optional, SIMPLE_SIGNING_VERITY_ROOT_HASH_KEY);
	json_t *build_json = json_object_get(optional, SIMPLE_SIGNING_VERITY_BUILD_KEY);
	const char *hash = json_string_value(hash_json), *build = json_string_value(build_json);
	if (!hash_json != !build_json)
		REFUSE("optional has one of " SIMPLE_SIGNING_VERITY_ROOT_HASH_KEY
		       " and " SIMPLE_SIGNING_VERITY_BUILD_KEY " without the other");
	if (hash_json &&
	    (!hash || strlen(hash) != json_string_length(hash_json) || !simple_signing_root_hash_is_valid(hash)))
		REFUSE(SIMPLE_SIGNING_VERITY_ROOT_HASH_KEY " is not 64 lowercase hex digits");
	if (build_json &&
	    (!build || strlen(build) != json_string_length(build_json) || !simple_signing_verity_build_is_valid(build)))
		REFUSE(SIMPLE_SIGNING_VERITY_BUILD_KEY " is not 1 to 256 printable ASCII chars");

	char *copy = strdup(reference);
	if (!copy)
		return -ENOMEM;
	ret->docker_reference = copy;
	memcpy(ret->digest, digest, strlen(digest) + 1);
	snprintf(ret->verity_root_hash, sizeof(ret->verity_root_hash), "%s", hash ?: "");
	snprintf(ret->verity_build, sizeof(ret->verity_build), "%s", build ?: "");
	return 0;
}

int simple_signing_verify(const void *payload, size_t size, const char *signature_b64, const struct trust_key *key,
			  const char *const *expected_digests, struct simple_signing *ret)
{
	if (size > SIMPLE_SIGNING_PAYLOAD_MAX)
		return log_error_errno(-E2BIG, "Signature payload of %zu bytes refused (at most %u)", size,
				       SIMPLE_SIGNING_PAYLOAD_MAX);

	if (!signature_b64)
		return -EKEYREJECTED;
	size_t b64_size = strnlen(signature_b64, SIMPLE_SIGNING_SIGNATURE_B64_MAX + 1);
	if (b64_size > SIMPLE_SIGNING_SIGNATURE_B64_MAX)
		return log_debug_errno(-EKEYREJECTED, "Signature annotation longer than %zu chars",
				       (size_t) SIMPLE_SIGNING_SIGNATURE_B64_MAX);
	_cleanup_free_ unsigned char *sig = NULL;
	size_t sig_size = 0;
	int r = base64_decode_strict(signature_b64, b64_size, TRUST_SIGNATURE_MAX, &sig, &sig_size);
	if (r < 0)
		return log_debug_errno(-EKEYREJECTED, "Signature annotation is not base64");
	/* Only the signed bytes reach the JSON parser. */
	if (trust_key_verify(key, payload, size, sig, sig_size) < 0)
		return log_debug_errno(-EKEYREJECTED, "Not a signature of key %s", trust_key_fingerprint(key));

	const char *reason = NULL;
	_cleanup_(simple_signing_done) struct simple_signing parsed = {};
	r = simple_signing_parse(payload, size, &parsed, &reason);
	if (r == -ENOMEM)
		return log_error_errno(r, "Out of memory");
	if (r < 0)
		return log_error_errno(r, "Payload signed by key %s refused: %s", trust_key_fingerprint(key), reason);
	bool found = false;
	for (size_t i = 0; expected_digests && expected_digests[i] && !found; i++)
		found = streq(parsed.digest, expected_digests[i]);
	if (!found)
		return log_error_errno(-EXDEV, "Signature of key %s is for %s, not for %s", trust_key_fingerprint(key),
				       parsed.digest,
				       expected_digests && expected_digests[0] ? expected_digests[0] : "(none)");
	if (ret) {
		*ret = parsed;
		parsed = (struct simple_signing){};
	}
	return 0;
}

/* s as Go's encoding/json writes a string (HTML-safe, its default).
 * -EINVAL if s is not UTF-8 (Go would replace bytes with U+FFFD). */
static int write_go_string(FILE *f, const char *s)
{
	json_t *check = json_string(s); /* jansson refuses invalid UTF-8 */
	if (!check)
		return -EINVAL;
	json_decref(check);
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '<':
		case '>':
		case '&':
			fprintf(f, "\\u%04x", *p);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
				fprintf(f, "\\u202%c", p[2] == 0xa8 ? '8' : '9');
				p += 2;
			} else
				fputc(*p, f);
		}
	}
	fputc('"', f);
	return 0;
}

static int annotation_compare(const void *a, const void *b)
{
	const struct simple_signing_annotation *x = *(const struct simple_signing_annotation *const *) a;
	const struct simple_signing_annotation *y = *(const struct simple_signing_annotation *const *) b;
	return strcmp(x->key, y->key);
}

int simple_signing_write(const char *docker_reference, const char *digest,
			 const struct simple_signing_annotation *annotations, size_t n_annotations, char **ret,
			 size_t *ret_size)
{
	if (!docker_reference || !reference_is_valid(docker_reference) || !simple_signing_digest_is_valid(digest))
		return -EINVAL;
	/* Go writes a map's keys sorted (byte order). */
	_cleanup_free_ const struct simple_signing_annotation **sorted =
		calloc(n_annotations ? n_annotations : 1, sizeof(const struct simple_signing_annotation *));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < n_annotations; i++) {
		if (!annotations[i].key || !annotations[i].value)
			return -EINVAL;
		sorted[i] = &annotations[i];
	}
	qsort(sorted, n_annotations, sizeof(const struct simple_signing_annotation *), annotation_compare);
	for (size_t i = 1; i < n_annotations; i++)
		if (streq(sorted[i - 1]->key, sorted[i]->key))
			return -EINVAL;

	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	int r = 0;
	{
		_cleanup_fclose_ FILE *f = open_memstream(&buf, &size);
		if (!f)
			return -ENOMEM;
		fputs("{\"critical\":{\"identity\":{\"docker-reference\":", f);
		r = write_go_string(f, docker_reference);
		fputs("},\"image\":{\"docker-manifest-digest\":", f);
		if (r >= 0)
			r = write_go_string(f, digest);
		fputs("},\"type\":\"" SIMPLE_SIGNING_TYPE "\"},\"optional\":", f);
		if (n_annotations == 0)
			fputs("null", f);
		else {
			fputc('{', f);
			for (size_t i = 0; i < n_annotations && r >= 0; i++) {
				if (i > 0)
					fputc(',', f);
				r = write_go_string(f, sorted[i]->key);
				fputc(':', f);
				if (r >= 0)
					r = write_go_string(f, sorted[i]->value);
			}
			fputc('}', f);
		}
		fputc('}', f);
		if (fflush(f) != 0)
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	if (size > SIMPLE_SIGNING_PAYLOAD_MAX)
		return -E2BIG;
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

int simple_signing_sign(const struct trust_private_key *key, const void *payload, size_t size, char **ret_signature_b64)
{
	_cleanup_free_ unsigned char *sig = NULL;
	size_t sig_size = 0;
	int r = trust_sign(key, payload, size, &sig, &sig_size);
	if (r < 0)
		return r;
	return base64_encode(sig, sig_size, ret_signature_b64);
}
