/* SPDX-License-Identifier: Apache-2.0 */
/* One requirement of a policy scope: insecureAcceptAnything, reject,
 * sigstoreSigned (keys, signedIdentity), signedBy (parsed, never accepted). */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "policy_parse.h"
#include "sanitize.h"
#include "util.h"

static int add_key_path(struct policy_parse *c, struct policy_requirement *req, json_t *v)
{
	if (!json_is_string(v))
		return policy_fail(c, -EBADMSG, "%s, not a string", policy_json_type_name(v));
	const char *path = json_string_value(v);
	/* A relative path would depend on the directory kairos-upgrade runs in;
	 * the policy's keys are files of the image it came from. */
	if (path[0] != '/')
		return policy_fail(c, -EBADMSG, "not an absolute path");
	if (strlen(path) >= PATH_MAX)
		return policy_fail(c, -E2BIG, "longer than %d bytes", PATH_MAX);
	req->keys[req->n_keys].path = strdup(path);
	if (!req->keys[req->n_keys].path)
		return -ENOMEM;
	req->n_keys++;
	return 0;
}

static int add_key_data(struct policy_parse *c, struct policy_requirement *req, json_t *v)
{
	if (!json_is_string(v))
		return policy_fail(c, -EBADMSG, "%s, not a string", policy_json_type_name(v));
	const char *s = json_string_value(v);
	if (strlen(s) > POLICY_KEY_DATA_MAX / 3 * 4 + 8)
		return policy_fail(c, -E2BIG, "over %d bytes once decoded", POLICY_KEY_DATA_MAX);
	unsigned char *pem = NULL;
	size_t size = 0;
	/* As Go's encoding/json decodes []byte: padded, line breaks skipped. */
	int r = base64_decode(s, strlen(s), BASE64_SKIP_LINE_BREAKS | BASE64_NONCANONICAL_OK, POLICY_KEY_DATA_MAX, &pem,
			      &size);
	if (r == -ENOMEM)
		return r;
	if (r == 0 && size == 0) {
		free(pem);
		r = -EBADMSG;
	}
	if (r < 0)
		return policy_fail(c, r, "not valid base64");
	/* The crypto layer parses the key; this only catches a keyData that is
	 * the key's DER or a path by mistake, with a message that says so. */
	if (!memmem(pem, size, "-----BEGIN ", 11)) {
		free(pem);
		return policy_fail(c, -EBADMSG, "not a base64-encoded PEM public key");
	}
	req->keys[req->n_keys].pem = pem;
	req->keys[req->n_keys].pem_size = size;
	req->n_keys++;
	return 0;
}

/* keyPath, keyPaths, keyData or keyDatas: exactly one, into req->keys. */
static int parse_keys(struct policy_parse *c, json_t *obj, struct policy_requirement *req, bool need_one)
{
	static const char *const names[] = { "keyPath", "keyPaths", "keyData", "keyDatas" };
	const char *found = NULL;
	size_t n_found = 0;
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (json_object_get(obj, names[i])) {
			found = names[i];
			n_found++;
		}
	if (n_found > 1)
		return policy_fail(c, -EBADMSG, "more than one of keyPath, keyPaths, keyData and keyDatas");
	if (n_found == 0)
		return need_one ? policy_fail(c, -EBADMSG, "none of keyPath, keyPaths, keyData and keyDatas") : 0;

	json_t *v = json_object_get(obj, found);
	bool list = streq(found, "keyPaths") || streq(found, "keyDatas");
	bool data = streq(found, "keyData") || streq(found, "keyDatas");
	size_t old = policy_path_push_key(c, found);
	int r = 0;
	if (list && !json_is_array(v))
		r = policy_fail(c, -EBADMSG, "%s, not an array", policy_json_type_name(v));
	else if (list && json_array_size(v) == 0)
		r = policy_fail(c, -EBADMSG, "empty: no key would ever be accepted");
	else if (list && json_array_size(v) > POLICY_KEYS_MAX)
		r = policy_fail(c, -E2BIG, "more than %d keys", POLICY_KEYS_MAX);
	if (r < 0) {
		policy_path_pop(c, old);
		return r;
	}
	size_t n = list ? json_array_size(v) : 1;
	req->keys = calloc(n, sizeof(*req->keys));
	if (!req->keys)
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t old_i = list ? policy_path_push_index(c, i) : strlen(c->path);
		json_t *item = list ? json_array_get(v, i) : v;
		r = data ? add_key_data(c, req, item) : add_key_path(c, req, item);
		policy_path_pop(c, old_i);
	}
	policy_path_pop(c, old);
	return r;
}

static int dup_field(const char *s, const char **ret)
{
	char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

/* signedIdentity (or signedBy's, or baseLayerIdentity): absent means
 * matchRepoDigestOrExact. Each type takes exactly its fields, all required. */
static int parse_identity(struct policy_parse *c, json_t *obj, const char *key, struct identity_rule *rule)
{
	*rule = (struct identity_rule){ .type = IDENTITY_MATCH_REPO_DIGEST_OR_EXACT };
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	size_t old = policy_path_push_key(c, key);
	int r;
	const char *type = NULL;
	if (!json_is_object(v)) {
		r = policy_fail(c, -EBADMSG, "%s, not an object", policy_json_type_name(v));
		goto out;
	}
	r = policy_get_string(c, v, "type", &type);
	if (r < 0)
		goto out;
	int t = identity_rule_type_from_string(type);
	if (t < 0) {
		char shown[80];
		sanitize_to(shown, sizeof(shown), type);
		r = policy_fail(c, -EBADMSG, "unknown signedIdentity type \"%s\"", shown);
		goto out;
	}
	rule->type = t;
	static const char *const only_type[] = { "type", NULL };
	static const char *const reference[] = { "type", "dockerReference", NULL };
	static const char *const repository[] = { "type", "dockerRepository", NULL };
	static const char *const remap[] = { "type", "prefix", "signedPrefix", NULL };
	const char *value = NULL, *prefix = NULL, *signed_prefix = NULL;
	struct identity_ref ref;
	switch (rule->type) {
	case IDENTITY_EXACT_REFERENCE:
		r = policy_check_fields(c, v, reference);
		if (r >= 0)
			r = policy_get_string(c, v, "dockerReference", &value);
		if (r >= 0 && (identity_ref_parse(value, &ref) < 0 || identity_ref_is_name_only(&ref)))
			r = policy_fail(c, -EBADMSG, "dockerReference is not a reference with a tag or digest");
		if (r >= 0)
			r = dup_field(value, &rule->value);
		break;
	case IDENTITY_EXACT_REPOSITORY:
		r = policy_check_fields(c, v, repository);
		if (r >= 0)
			r = policy_get_string(c, v, "dockerRepository", &value);
		if (r >= 0 && identity_ref_parse(value, &ref) < 0)
			r = policy_fail(c, -EBADMSG, "dockerRepository is not a repository name");
		if (r >= 0)
			r = dup_field(value, &rule->value);
		break;
	case IDENTITY_REMAP:
		r = policy_check_fields(c, v, remap);
		if (r >= 0)
			r = policy_get_string(c, v, "prefix", &prefix);
		if (r >= 0)
			r = policy_get_string(c, v, "signedPrefix", &signed_prefix);
		if (r >= 0 && !identity_prefix_is_valid(prefix))
			r = policy_fail(c, -EBADMSG, "prefix is not host[:port] or host[:port]/path");
		if (r >= 0 && !identity_prefix_is_valid(signed_prefix))
			r = policy_fail(c, -EBADMSG, "signedPrefix is not host[:port] or host[:port]/path");
		if (r >= 0)
			r = dup_field(prefix, &rule->prefix);
		if (r >= 0)
			r = dup_field(signed_prefix, &rule->signed_prefix);
		break;
	default:
		r = policy_check_fields(c, v, only_type);
		break;
	}
out:
	policy_path_pop(c, old);
	return r;
}

/* A string or an array of strings (rekor's fields, checked only for shape
 * since they make the requirement unsupported anyway). */
static int check_string_or_list(struct policy_parse *c, json_t *obj, const char *key, bool list)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	size_t old = policy_path_push_key(c, key);
	int r = 0;
	if (!list && !json_is_string(v))
		r = policy_fail(c, -EBADMSG, "%s, not a string", policy_json_type_name(v));
	else if (list && !json_is_array(v))
		r = policy_fail(c, -EBADMSG, "%s, not an array", policy_json_type_name(v));
	policy_path_pop(c, old);
	return r;
}

static int parse_sigstore_signed(struct policy_parse *c, json_t *obj, struct policy_requirement *req)
{
	static const char *const fields[] = { "type",
					      "keyPath",
					      "keyPaths",
					      "keyData",
					      "keyDatas",
					      "fulcio",
					      "pki",
					      "rekorPublicKeyPath",
					      "rekorPublicKeyPaths",
					      "rekorPublicKeyData",
					      "rekorPublicKeyDatas",
					      "signedIdentity",
					      NULL };
	int r = policy_check_fields(c, obj, fields);
	if (r < 0)
		return r;
	static const char *const rekor_keys[] = { "rekorPublicKeyPath", "rekorPublicKeyData" };
	static const char *const rekor_lists[] = { "rekorPublicKeyPaths", "rekorPublicKeyDatas" };
	bool rekor = false;
	for (size_t i = 0; i < ELEMENTSOF(rekor_keys); i++) {
		rekor |= json_object_get(obj, rekor_keys[i]) || json_object_get(obj, rekor_lists[i]);
		r = check_string_or_list(c, obj, rekor_keys[i], false);
		if (r >= 0)
			r = check_string_or_list(c, obj, rekor_lists[i], true);
		if (r < 0)
			return r;
	}
	static const char *const keyless_fields[] = { "fulcio", "pki" };
	bool keyless = false;
	for (size_t i = 0; i < ELEMENTSOF(keyless_fields); i++) {
		json_t *v = json_object_get(obj, keyless_fields[i]);
		if (!v)
			continue;
		if (keyless)
			return policy_fail(c, -EBADMSG, "both fulcio and pki");
		keyless = true;
		if (!json_is_object(v)) {
			size_t old = policy_path_push_key(c, keyless_fields[i]);
			r = policy_fail(c, -EBADMSG, "%s, not an object", policy_json_type_name(v));
			policy_path_pop(c, old);
			return r;
		}
	}
	if (keyless && (json_object_get(obj, "keyPath") || json_object_get(obj, "keyPaths") ||
			json_object_get(obj, "keyData") || json_object_get(obj, "keyDatas")))
		return policy_fail(c, -EBADMSG, "a public key and a certificate authority (fulcio or pki) at once");
	r = parse_keys(c, obj, req, !keyless);
	if (r < 0)
		return r;
	r = parse_identity(c, obj, "signedIdentity", &req->signed_identity);
	if (r < 0)
		return r;
	if (keyless || rekor) {
		req->type = POLICY_UNSUPPORTED;
		req->unsupported_why = "sigstoreSigned with fulcio, pki or rekorPublicKey* (keyless, transparency log) "
				       "is not supported: only public keys (keyPath, keyPaths, keyData)";
	} else
		req->type = POLICY_SIGSTORE_SIGNED;
	return 0;
}

static int parse_signed_by(struct policy_parse *c, json_t *obj, struct policy_requirement *req)
{
	static const char *const fields[] = { "type",    "keyType",        "keyPath", "keyPaths",
					      "keyData", "signedIdentity", NULL };
	int r = policy_check_fields(c, obj, fields);
	if (r < 0)
		return r;
	const char *key_type;
	r = policy_get_string(c, obj, "keyType", &key_type);
	if (r < 0)
		return r;
	if (!streq(key_type, "GPGKeys") && !streq(key_type, "signedByGPGKeys") &&
	    !streq(key_type, "X509Certificates") && !streq(key_type, "signedByX509CAs")) {
		char shown[80];
		sanitize_to(shown, sizeof(shown), key_type);
		return policy_fail(c, -EBADMSG, "unknown keyType \"%s\"", shown);
	}
	/* keyData here is a GPG keyring, not PEM: check only its shape. */
	static const char *const sources[] = { "keyPath", "keyPaths", "keyData" };
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(sources); i++)
		if (json_object_get(obj, sources[i])) {
			n++;
			r = check_string_or_list(c, obj, sources[i], streq(sources[i], "keyPaths"));
			if (r < 0)
				return r;
		}
	if (n != 1)
		return policy_fail(c, -EBADMSG, "exactly one of keyPath, keyPaths and keyData must be given");
	r = parse_identity(c, obj, "signedIdentity", &req->signed_identity);
	if (r < 0)
		return r;
	req->type = POLICY_UNSUPPORTED;
	req->unsupported_why = "signedBy (GPG \"simple signing\") is not supported: sign with cosign and require "
			       "sigstoreSigned";
	return 0;
}

static int parse_requirement(struct policy_parse *c, json_t *obj, struct policy_requirement *req)
{
	if (!json_is_object(obj))
		return policy_fail(c, -EBADMSG, "%s, not an object", policy_json_type_name(obj));
	const char *type;
	int r = policy_get_string(c, obj, "type", &type);
	if (r < 0)
		return r;
	static const char *const only_type[] = { "type", NULL };
	if (streq(type, "insecureAcceptAnything") || streq(type, "reject")) {
		req->type = streq(type, "reject") ? POLICY_REJECT : POLICY_INSECURE_ACCEPT_ANYTHING;
		return policy_check_fields(c, obj, only_type);
	}
	if (streq(type, "sigstoreSigned"))
		return parse_sigstore_signed(c, obj, req);
	if (streq(type, "signedBy"))
		return parse_signed_by(c, obj, req);
	if (streq(type, "signedBaseLayer")) {
		static const char *const fields[] = { "type", "baseLayerIdentity", NULL };
		r = policy_check_fields(c, obj, fields);
		if (r < 0)
			return r;
		if (!json_object_get(obj, "baseLayerIdentity"))
			return policy_fail(c, -EBADMSG, "\"baseLayerIdentity\" is missing");
		r = parse_identity(c, obj, "baseLayerIdentity", &req->signed_identity);
		if (r < 0)
			return r;
		req->type = POLICY_UNSUPPORTED;
		req->unsupported_why = "signedBaseLayer is not implemented (containers/image refuses it too)";
		return 0;
	}
	char shown[80];
	sanitize_to(shown, sizeof(shown), type);
	return policy_fail(c, -EBADMSG, "unknown requirement type \"%s\"", shown);
}

void policy_requirements_done(struct policy_requirements *reqs)
{
	for (size_t i = 0; i < reqs->n_items; i++) {
		struct policy_requirement *req = &reqs->items[i];
		for (size_t k = 0; k < req->n_keys; k++) {
			free(req->keys[k].path);
			free(req->keys[k].pem);
		}
		free(req->keys);
		free((char *) req->signed_identity.value);
		free((char *) req->signed_identity.prefix);
		free((char *) req->signed_identity.signed_prefix);
	}
	free(reqs->items);
	free(reqs->scope);
	*reqs = (struct policy_requirements){};
}

/* A requirement list: a non-empty array, all of which must hold. */
int policy_parse_requirements(struct policy_parse *c, json_t *v, struct policy_requirements *reqs)
{
	if (!json_is_array(v))
		return policy_fail(c, -EBADMSG, "%s, not an array of requirements", policy_json_type_name(v));
	size_t n = json_array_size(v);
	if (n == 0)
		return policy_fail(c, -EBADMSG, "empty: a requirement list must have at least one requirement");
	if (n > POLICY_REQUIREMENTS_MAX)
		return policy_fail(c, -E2BIG, "more than %d requirements", POLICY_REQUIREMENTS_MAX);
	reqs->items = calloc(n, sizeof(*reqs->items));
	if (!reqs->items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t old = policy_path_push_index(c, i);
		int r = parse_requirement(c, json_array_get(v, i), &reqs->items[reqs->n_items]);
		/* Counted even on failure: what it allocated is freed with the rest. */
		reqs->n_items++;
		policy_path_pop(c, old);
		if (r < 0)
			return r;
	}
	return 0;
}
