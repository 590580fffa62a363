/* SPDX-License-Identifier: Apache-2.0 */
#include "policy.h"

#include "base64.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sanitize.h"
#include "util.h"

/* Where the parser is, for messages: the file and a JSON path. */
struct parse_ctx {
	const char *file;
	struct policy_error *error;
	char path[256];
};

static int fail(struct parse_ctx *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct parse_ctx *c, int r, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->error)
		snprintf(c->error->message, sizeof(c->error->message), "%.200s: %.255s: %.255s", c->file, c->path, what);
	return r;
}

/* Appends .key (or ["key"], sanitized and cut, for other names) to the
 * path; returns the old length, to restore with path_pop(). */
static size_t path_push_key(struct parse_ctx *c, const char *key)
{
	size_t old = strlen(c->path);
	bool plain = *key && strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(key);
	char shown[80];
	sanitize_to(shown, sizeof(shown), key);
	if (plain)
		snprintf(c->path + old, sizeof(c->path) - old, ".%s", shown);
	else
		snprintf(c->path + old, sizeof(c->path) - old, "[\"%s\"]", shown);
	return old;
}

static size_t path_push_index(struct parse_ctx *c, size_t i)
{
	size_t old = strlen(c->path);
	snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);
	return old;
}

static void path_pop(struct parse_ctx *c, size_t old) { c->path[old] = '\0'; }

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Checks that every key of obj is one of allowed (NULL-terminated). */
static int check_fields(struct parse_ctx *c, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = streq(key, *a);
		if (!known) {
			size_t old = path_push_key(c, key);
			int r = fail(c, -EBADMSG, "unknown field");
			path_pop(c, old);
			return r;
		}
	}
	return 0;
}

/* obj[key], a required string; -EBADMSG if missing or not one (*ret is
 * then "", never NULL). */
static int get_string(struct parse_ctx *c, json_t *obj, const char *key, const char **ret)
{
	json_t *v = json_object_get(obj, key);
	*ret = "";
	if (!v)
		return fail(c, -EBADMSG, "\"%s\" is missing", key);
	if (!json_is_string(v)) {
		size_t old = path_push_key(c, key);
		int r = fail(c, -EBADMSG, "%s, not a string", json_type_name(v));
		path_pop(c, old);
		return r;
	}
	*ret = json_string_value(v);
	return 0;
}

static int add_key_path(struct parse_ctx *c, struct policy_requirement *req, json_t *v)
{
	if (!json_is_string(v))
		return fail(c, -EBADMSG, "%s, not a string", json_type_name(v));
	const char *path = json_string_value(v);
	/* A relative path would depend on the directory kairos-upgrade runs in;
	 * the policy's keys are files of the image it came from. */
	if (path[0] != '/')
		return fail(c, -EBADMSG, "not an absolute path");
	if (strlen(path) >= PATH_MAX)
		return fail(c, -E2BIG, "longer than %d bytes", PATH_MAX);
	req->keys[req->n_keys].path = strdup(path);
	if (!req->keys[req->n_keys].path)
		return -ENOMEM;
	req->n_keys++;
	return 0;
}

static int add_key_data(struct parse_ctx *c, struct policy_requirement *req, json_t *v)
{
	if (!json_is_string(v))
		return fail(c, -EBADMSG, "%s, not a string", json_type_name(v));
	const char *s = json_string_value(v);
	if (strlen(s) > POLICY_KEY_DATA_MAX / 3 * 4 + 8)
		return fail(c, -E2BIG, "over %d bytes once decoded", POLICY_KEY_DATA_MAX);
	unsigned char *pem = NULL;
	size_t size = 0;
	/* As Go's encoding/json decodes []byte: padded, line breaks skipped. */
	int r = base64_decode(s, strlen(s), BASE64_SKIP_LINE_BREAKS | BASE64_NONCANONICAL_OK, POLICY_KEY_DATA_MAX,
			      &pem, &size);
	if (r == -ENOMEM)
		return r;
	if (r == 0 && size == 0) {
		free(pem);
		r = -EBADMSG;
	}
	if (r < 0)
		return fail(c, r, "not valid base64");
	/* The crypto layer parses the key; this only catches a keyData that is
	 * the key's DER or a path by mistake, with a message that says so. */
	if (!memmem(pem, size, "-----BEGIN ", 11)) {
		free(pem);
		return fail(c, -EBADMSG, "not a base64-encoded PEM public key");
	}
	req->keys[req->n_keys].pem = pem;
	req->keys[req->n_keys].pem_size = size;
	req->n_keys++;
	return 0;
}

/* keyPath, keyPaths, keyData or keyDatas: exactly one, into req->keys. */
static int parse_keys(struct parse_ctx *c, json_t *obj, struct policy_requirement *req, bool need_one)
{
	static const char *const names[] = {"keyPath", "keyPaths", "keyData", "keyDatas"};
	const char *found = NULL;
	size_t n_found = 0;
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (json_object_get(obj, names[i])) {
			found = names[i];
			n_found++;
		}
	if (n_found > 1)
		return fail(c, -EBADMSG, "more than one of keyPath, keyPaths, keyData and keyDatas");
	if (n_found == 0)
		return need_one ? fail(c, -EBADMSG, "none of keyPath, keyPaths, keyData and keyDatas") : 0;

	json_t *v = json_object_get(obj, found);
	bool list = streq(found, "keyPaths") || streq(found, "keyDatas");
	bool data = streq(found, "keyData") || streq(found, "keyDatas");
	size_t old = path_push_key(c, found);
	int r = 0;
	if (list && !json_is_array(v))
		r = fail(c, -EBADMSG, "%s, not an array", json_type_name(v));
	else if (list && json_array_size(v) == 0)
		r = fail(c, -EBADMSG, "empty: no key would ever be accepted");
	else if (list && json_array_size(v) > POLICY_KEYS_MAX)
		r = fail(c, -E2BIG, "more than %d keys", POLICY_KEYS_MAX);
	if (r < 0) {
		path_pop(c, old);
		return r;
	}
	size_t n = list ? json_array_size(v) : 1;
	req->keys = calloc(n, sizeof(*req->keys));
	if (!req->keys)
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t old_i = list ? path_push_index(c, i) : strlen(c->path);
		json_t *item = list ? json_array_get(v, i) : v;
		r = data ? add_key_data(c, req, item) : add_key_path(c, req, item);
		path_pop(c, old_i);
	}
	path_pop(c, old);
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
static int parse_identity(struct parse_ctx *c, json_t *obj, const char *key, struct identity_rule *rule)
{
	*rule = (struct identity_rule){.type = IDENTITY_MATCH_REPO_DIGEST_OR_EXACT};
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	size_t old = path_push_key(c, key);
	int r;
	const char *type = NULL;
	if (!json_is_object(v)) {
		r = fail(c, -EBADMSG, "%s, not an object", json_type_name(v));
		goto out;
	}
	r = get_string(c, v, "type", &type);
	if (r < 0)
		goto out;
	int t = identity_rule_type_from_string(type);
	if (t < 0) {
		char shown[80];
		sanitize_to(shown, sizeof(shown), type);
		r = fail(c, -EBADMSG, "unknown signedIdentity type \"%s\"", shown);
		goto out;
	}
	rule->type = t;
	static const char *const only_type[] = {"type", NULL};
	static const char *const reference[] = {"type", "dockerReference", NULL};
	static const char *const repository[] = {"type", "dockerRepository", NULL};
	static const char *const remap[] = {"type", "prefix", "signedPrefix", NULL};
	const char *value = NULL, *prefix = NULL, *signed_prefix = NULL;
	struct identity_ref ref;
	switch (rule->type) {
	case IDENTITY_EXACT_REFERENCE:
		r = check_fields(c, v, reference);
		if (r >= 0)
			r = get_string(c, v, "dockerReference", &value);
		if (r >= 0 && (identity_ref_parse(value, &ref) < 0 || identity_ref_is_name_only(&ref)))
			r = fail(c, -EBADMSG, "dockerReference is not a reference with a tag or digest");
		if (r >= 0)
			r = dup_field(value, &rule->value);
		break;
	case IDENTITY_EXACT_REPOSITORY:
		r = check_fields(c, v, repository);
		if (r >= 0)
			r = get_string(c, v, "dockerRepository", &value);
		if (r >= 0 && identity_ref_parse(value, &ref) < 0)
			r = fail(c, -EBADMSG, "dockerRepository is not a repository name");
		if (r >= 0)
			r = dup_field(value, &rule->value);
		break;
	case IDENTITY_REMAP:
		r = check_fields(c, v, remap);
		if (r >= 0)
			r = get_string(c, v, "prefix", &prefix);
		if (r >= 0)
			r = get_string(c, v, "signedPrefix", &signed_prefix);
		if (r >= 0 && !identity_prefix_is_valid(prefix))
			r = fail(c, -EBADMSG, "prefix is not host[:port] or host[:port]/path");
		if (r >= 0 && !identity_prefix_is_valid(signed_prefix))
			r = fail(c, -EBADMSG, "signedPrefix is not host[:port] or host[:port]/path");
		if (r >= 0)
			r = dup_field(prefix, &rule->prefix);
		if (r >= 0)
			r = dup_field(signed_prefix, &rule->signed_prefix);
		break;
	default:
		r = check_fields(c, v, only_type);
		break;
	}
out:
	path_pop(c, old);
	return r;
}

/* A string or an array of strings (rekor's fields, checked only for shape
 * since they make the requirement unsupported anyway). */
static int check_string_or_list(struct parse_ctx *c, json_t *obj, const char *key, bool list)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	size_t old = path_push_key(c, key);
	int r = 0;
	if (!list && !json_is_string(v))
		r = fail(c, -EBADMSG, "%s, not a string", json_type_name(v));
	else if (list && !json_is_array(v))
		r = fail(c, -EBADMSG, "%s, not an array", json_type_name(v));
	path_pop(c, old);
	return r;
}

static int parse_sigstore_signed(struct parse_ctx *c, json_t *obj, struct policy_requirement *req)
{
	static const char *const fields[] = {"type", "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "pki",
					     "rekorPublicKeyPath", "rekorPublicKeyPaths", "rekorPublicKeyData",
					     "rekorPublicKeyDatas", "signedIdentity", NULL};
	int r = check_fields(c, obj, fields);
	if (r < 0)
		return r;
	static const char *const rekor_keys[] = {"rekorPublicKeyPath", "rekorPublicKeyData"};
	static const char *const rekor_lists[] = {"rekorPublicKeyPaths", "rekorPublicKeyDatas"};
	bool rekor = false;
	for (size_t i = 0; i < ELEMENTSOF(rekor_keys); i++) {
		rekor |= json_object_get(obj, rekor_keys[i]) || json_object_get(obj, rekor_lists[i]);
		r = check_string_or_list(c, obj, rekor_keys[i], false);
		if (r >= 0)
			r = check_string_or_list(c, obj, rekor_lists[i], true);
		if (r < 0)
			return r;
	}
	static const char *const keyless_fields[] = {"fulcio", "pki"};
	bool keyless = false;
	for (size_t i = 0; i < ELEMENTSOF(keyless_fields); i++) {
		json_t *v = json_object_get(obj, keyless_fields[i]);
		if (!v)
			continue;
		if (keyless)
			return fail(c, -EBADMSG, "both fulcio and pki");
		keyless = true;
		if (!json_is_object(v)) {
			size_t old = path_push_key(c, keyless_fields[i]);
			r = fail(c, -EBADMSG, "%s, not an object", json_type_name(v));
			path_pop(c, old);
			return r;
		}
	}
	if (keyless && (json_object_get(obj, "keyPath") || json_object_get(obj, "keyPaths") ||
			json_object_get(obj, "keyData") || json_object_get(obj, "keyDatas")))
		return fail(c, -EBADMSG, "a public key and a certificate authority (fulcio or pki) at once");
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

static int parse_signed_by(struct parse_ctx *c, json_t *obj, struct policy_requirement *req)
{
	static const char *const fields[] = {"type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity", NULL};
	int r = check_fields(c, obj, fields);
	if (r < 0)
		return r;
	const char *key_type;
	r = get_string(c, obj, "keyType", &key_type);
	if (r < 0)
		return r;
	if (!streq(key_type, "GPGKeys") && !streq(key_type, "signedByGPGKeys") &&
	    !streq(key_type, "X509Certificates") && !streq(key_type, "signedByX509CAs")) {
		char shown[80];
		sanitize_to(shown, sizeof(shown), key_type);
		return fail(c, -EBADMSG, "unknown keyType \"%s\"", shown);
	}
	/* keyData here is a GPG keyring, not PEM: check only its shape. */
	static const char *const sources[] = {"keyPath", "keyPaths", "keyData"};
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(sources); i++)
		if (json_object_get(obj, sources[i])) {
			n++;
			r = check_string_or_list(c, obj, sources[i], streq(sources[i], "keyPaths"));
			if (r < 0)
				return r;
		}
	if (n != 1)
		return fail(c, -EBADMSG, "exactly one of keyPath, keyPaths and keyData must be given");
	r = parse_identity(c, obj, "signedIdentity", &req->signed_identity);
	if (r < 0)
		return r;
	req->type = POLICY_UNSUPPORTED;
	req->unsupported_why = "signedBy (GPG \"simple signing\") is not supported: sign with cosign and require "
			       "sigstoreSigned";
	return 0;
}

static int parse_requirement(struct parse_ctx *c, json_t *obj, struct policy_requirement *req)
{
	if (!json_is_object(obj))
		return fail(c, -EBADMSG, "%s, not an object", json_type_name(obj));
	const char *type;
	int r = get_string(c, obj, "type", &type);
	if (r < 0)
		return r;
	static const char *const only_type[] = {"type", NULL};
	if (streq(type, "insecureAcceptAnything") || streq(type, "reject")) {
		req->type = streq(type, "reject") ? POLICY_REJECT : POLICY_INSECURE_ACCEPT_ANYTHING;
		return check_fields(c, obj, only_type);
	}
	if (streq(type, "sigstoreSigned"))
		return parse_sigstore_signed(c, obj, req);
	if (streq(type, "signedBy"))
		return parse_signed_by(c, obj, req);
	if (streq(type, "signedBaseLayer")) {
		static const char *const fields[] = {"type", "baseLayerIdentity", NULL};
		r = check_fields(c, obj, fields);
		if (r < 0)
			return r;
		if (!json_object_get(obj, "baseLayerIdentity"))
			return fail(c, -EBADMSG, "\"baseLayerIdentity\" is missing");
		r = parse_identity(c, obj, "baseLayerIdentity", &req->signed_identity);
		if (r < 0)
			return r;
		req->type = POLICY_UNSUPPORTED;
		req->unsupported_why = "signedBaseLayer is not implemented (containers/image refuses it too)";
		return 0;
	}
	char shown[80];
	sanitize_to(shown, sizeof(shown), type);
	return fail(c, -EBADMSG, "unknown requirement type \"%s\"", shown);
}

static void requirements_done(struct policy_requirements *reqs)
{
	for (size_t i = 0; i < reqs->n_items; i++) {
		struct policy_requirement *req = &reqs->items[i];
		for (size_t k = 0; k < req->n_keys; k++) {
			free(req->keys[k].path);
			free(req->keys[k].pem);
		}
		free(req->keys);
		free((char *)req->signed_identity.value);
		free((char *)req->signed_identity.prefix);
		free((char *)req->signed_identity.signed_prefix);
	}
	free(reqs->items);
	free(reqs->scope);
	*reqs = (struct policy_requirements){};
}

/* A requirement list: a non-empty array, all of which must hold. */
static int parse_requirements(struct parse_ctx *c, json_t *v, struct policy_requirements *reqs)
{
	if (!json_is_array(v))
		return fail(c, -EBADMSG, "%s, not an array of requirements", json_type_name(v));
	size_t n = json_array_size(v);
	if (n == 0)
		return fail(c, -EBADMSG, "empty: a requirement list must have at least one requirement");
	if (n > POLICY_REQUIREMENTS_MAX)
		return fail(c, -E2BIG, "more than %d requirements", POLICY_REQUIREMENTS_MAX);
	reqs->items = calloc(n, sizeof(*reqs->items));
	if (!reqs->items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t old = path_push_index(c, i);
		int r = parse_requirement(c, json_array_get(v, i), &reqs->items[reqs->n_items]);
		/* Counted even on failure: what it allocated is freed with the rest. */
		reqs->n_items++;
		path_pop(c, old);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_docker(struct parse_ctx *c, json_t *scopes, struct policy *p)
{
	size_t n = json_object_size(scopes);
	if (n > POLICY_SCOPES_MAX)
		return fail(c, -E2BIG, "more than %d scopes", POLICY_SCOPES_MAX);
	p->docker = calloc(n ? n : 1, sizeof(*p->docker));
	if (!p->docker)
		return -ENOMEM;
	const char *scope;
	json_t *v;
	json_object_foreach(scopes, scope, v) {
		size_t old = path_push_key(c, scope);
		int r = 0;
		/* A scope that can never match ("busybox", "Quay.io/x/", "https://...")
		 * would leave its images to a weaker default without a word. */
		if (*scope && !identity_scope_is_valid(scope))
			r = fail(c, -EBADMSG,
				 "not a scope: host[:port][/namespace[/repo[:tag|@digest]]] in the fully expanded form "
				 "(docker.io/library/busybox, not busybox), or *.domain");
		struct policy_requirements *reqs = &p->docker[p->n_docker];
		if (r >= 0) {
			p->n_docker++;
			reqs->scope = strdup(scope);
			r = reqs->scope ? parse_requirements(c, v, reqs) : -ENOMEM;
		}
		path_pop(c, old);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Other transports are parsed as strictly (podman would refuse the file
 * for them too) into a scratch list, then dropped. */
static int parse_other_transport(struct parse_ctx *c, const char *name, json_t *scopes, struct policy *p)
{
	if (json_object_size(scopes) > POLICY_SCOPES_MAX)
		return fail(c, -E2BIG, "more than %d scopes", POLICY_SCOPES_MAX);
	const char *scope;
	json_t *v;
	json_object_foreach(scopes, scope, v) {
		size_t old = path_push_key(c, scope);
		struct policy_requirements scratch = {};
		int r = parse_requirements(c, v, &scratch);
		requirements_done(&scratch);
		path_pop(c, old);
		if (r < 0)
			return r;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	p->ignored_transports[p->n_ignored_transports++] = copy;
	return 0;
}

static int parse_transports(struct parse_ctx *c, json_t *transports, struct policy *p)
{
	if (!json_is_object(transports))
		return fail(c, -EBADMSG, "%s, not an object", json_type_name(transports));
	size_t n = json_object_size(transports);
	if (n > POLICY_TRANSPORTS_MAX)
		return fail(c, -E2BIG, "more than %d transports", POLICY_TRANSPORTS_MAX);
	p->ignored_transports = calloc(n ? n : 1, sizeof(char *));
	if (!p->ignored_transports)
		return -ENOMEM;
	const char *name;
	json_t *scopes;
	json_object_foreach(transports, name, scopes) {
		size_t old = path_push_key(c, name);
		int r;
		if (!json_is_object(scopes))
			r = fail(c, -EBADMSG, "%s, not an object of scopes", json_type_name(scopes));
		else if (streq(name, "docker"))
			r = parse_docker(c, scopes, p);
		else
			r = parse_other_transport(c, name, scopes, p);
		path_pop(c, old);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The deepest nesting of [ and { outside strings, stopping past max: a
 * bound before jansson's recursive parser and destructor see the text. */
static bool nesting_exceeds(const char *s, size_t size, unsigned max)
{
	unsigned depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < size; i++) {
		char ch = s[i];
		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = false;
		} else if (ch == '"')
			in_string = true;
		else if (ch == '[' || ch == '{') {
			if (++depth > max)
				return true;
		} else if ((ch == ']' || ch == '}') && depth > 0)
			depth--;
	}
	return false;
}

int policy_parse(const void *buf, size_t size, const char *file, struct policy **ret, struct policy_error *error)
{
	struct parse_ctx c = {.file = file ? file : "policy", .error = error, .path = "$"};
	if (error)
		error->message[0] = '\0';
	if (size > POLICY_SIZE_MAX)
		return fail(&c, -E2BIG, "%zu bytes, over the limit of %d", size, POLICY_SIZE_MAX);
	if (nesting_exceeds(buf, size, POLICY_DEPTH_MAX))
		return fail(&c, -E2BIG, "nested deeper than %d levels", POLICY_DEPTH_MAX);

	json_error_t jerr;
	json_t *root = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char shown[160];
		sanitize_to(shown, sizeof(shown), jerr.text);
		return fail(&c, -EBADMSG, "not valid JSON (line %d, column %d): %s", jerr.line, jerr.column, shown);
	}

	_cleanup_(policy_freep) struct policy *p = calloc(1, sizeof(*p));
	int r = p ? 0 : -ENOMEM;
	if (r >= 0) {
		p->file = strdup(c.file);
		r = p->file ? 0 : -ENOMEM;
	}
	static const char *const fields[] = {"default", "transports", NULL};
	if (r >= 0 && !json_is_object(root))
		r = fail(&c, -EBADMSG, "%s, not an object", json_type_name(root));
	if (r >= 0)
		r = check_fields(&c, root, fields);
	json_t *fallback = r >= 0 ? json_object_get(root, "default") : NULL;
	if (r >= 0 && !fallback)
		r = fail(&c, -EBADMSG, "\"default\" is missing (the requirements for images no scope names)");
	if (r >= 0) {
		size_t old = path_push_key(&c, "default");
		r = parse_requirements(&c, fallback, &p->fallback);
		path_pop(&c, old);
	}
	json_t *transports = r >= 0 ? json_object_get(root, "transports") : NULL;
	if (r >= 0 && transports) {
		size_t old = path_push_key(&c, "transports");
		r = parse_transports(&c, transports, p);
		path_pop(&c, old);
	}
	json_decref(root);
	if (r == -ENOMEM && error)
		snprintf(error->message, sizeof(error->message), "%.200s: out of memory", c.file);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

int policy_load(const char *path, struct policy **ret, struct policy_error *error)
{
	struct parse_ctx c = {.file = path, .error = error, .path = "$"};
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int r = negative_errno();
		if (error)
			snprintf(error->message, sizeof(error->message), "%.200s: %s", path, strerror(-r));
		return r;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return fail(&c, -EBADMSG, "not a regular file");
	if (st.st_size > POLICY_SIZE_MAX)
		return fail(&c, -E2BIG, "%lld bytes, over the limit of %d", (long long)st.st_size, POLICY_SIZE_MAX);
	/* Read up to one byte past the bound, in case the file grew. */
	_cleanup_free_ char *buf = malloc(POLICY_SIZE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, POLICY_SIZE_MAX + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			break;
		n += k;
		if (n > POLICY_SIZE_MAX)
			return fail(&c, -E2BIG, "over the limit of %d bytes", POLICY_SIZE_MAX);
	}
	return policy_parse(buf, n, path, ret, error);
}

struct policy *policy_free(struct policy *p)
{
	if (!p)
		return NULL;
	requirements_done(&p->fallback);
	for (size_t i = 0; i < p->n_docker; i++)
		requirements_done(&p->docker[i]);
	free(p->docker);
	for (size_t i = 0; i < p->n_ignored_transports; i++)
		free(p->ignored_transports[i]);
	free(p->ignored_transports);
	free(p->file);
	free(p);
	return NULL;
}

static const struct policy_requirements *find_scope(const struct policy *p, const char *scope)
{
	for (size_t i = 0; i < p->n_docker; i++)
		if (streq(p->docker[i].scope, scope))
			return &p->docker[i];
	return NULL;
}

const struct policy_requirements *policy_lookup_docker(const struct policy *p, const struct identity_ref *image)
{
	char name[IDENTITY_REF_STRING_MAX];
	const struct policy_requirements *found;

	/* The image itself: containers/image's references have a tag or a
	 * digest; ours may have both, so each form is tried. */
	identity_ref_format(image, name, sizeof(name));
	if ((found = find_scope(p, name)))
		return found;
	size_t name_len = identity_ref_name(image, name, sizeof(name));
	if (image->tag[0] && image->digest[0]) {
		snprintf(name + name_len, sizeof(name) - name_len, "@%s", image->digest);
		if ((found = find_scope(p, name)))
			return found;
		snprintf(name + name_len, sizeof(name) - name_len, ":%s", image->tag);
		if ((found = find_scope(p, name)))
			return found;
		name[name_len] = '\0';
	}
	/* The repository, each parent namespace, then the host[:port]. */
	for (;;) {
		if ((found = find_scope(p, name)))
			return found;
		char *slash = strrchr(name, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	/* Wildcards: "*.b.c", "*.c" for host a.b.c, whatever its port. */
	if (name[0] != '[') {
		name[strcspn(name, ":")] = '\0';
		char wildcard[IDENTITY_REF_STRING_MAX + 2];
		for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
			snprintf(wildcard, sizeof(wildcard), "*%s", dot);
			if ((found = find_scope(p, wildcard)))
				return found;
		}
	}
	if ((found = find_scope(p, "")))
		return found;
	return &p->fallback;
}

int policy_requirements_check(const struct policy_requirements *reqs, bool *need_signature, const char **why)
{
	bool need = false;
	*why = NULL;
	*need_signature = false;
	for (size_t i = 0; i < reqs->n_items; i++) {
		const struct policy_requirement *req = &reqs->items[i];
		if (req->type == POLICY_REJECT) {
			*why = "the policy rejects these images (\"reject\")";
			return -EACCES;
		}
		if (req->type == POLICY_UNSUPPORTED) {
			*why = req->unsupported_why;
			return -EOPNOTSUPP;
		}
		need |= req->type == POLICY_SIGSTORE_SIGNED;
	}
	*need_signature = need;
	return 0;
}

const char *policy_requirement_type_to_string(enum policy_requirement_type t)
{
	switch (t) {
	case POLICY_INSECURE_ACCEPT_ANYTHING:
		return "insecureAcceptAnything";
	case POLICY_REJECT:
		return "reject";
	case POLICY_SIGSTORE_SIGNED:
		return "sigstoreSigned";
	case POLICY_UNSUPPORTED:
		return "unsupported";
	}
	return NULL;
}
