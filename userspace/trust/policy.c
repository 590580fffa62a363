/* SPDX-License-Identifier: Apache-2.0 */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "durable.h"
#include "policy_parse.h"
#include "sanitize.h"
#include "util.h"

static int parse_docker(struct policy_parse *c, json_t *scopes, struct policy *p)
{
	size_t n = json_object_size(scopes);
	if (n > POLICY_SCOPES_MAX)
		return policy_fail(c, -E2BIG, "more than %d scopes", POLICY_SCOPES_MAX);
	p->docker = calloc(n ? n : 1, sizeof(*p->docker));
	if (!p->docker)
		return -ENOMEM;
	const char *scope;
	json_t *v;
	json_object_foreach(scopes, scope, v)
	{
		size_t old = policy_path_push_key(c, scope);
		int r = 0;
		/* A scope that can never match ("busybox", "Quay.io/x/", "https://...")
		 * would leave its images to a weaker default without a word. */
		if (*scope && !identity_scope_is_valid(scope))
			r = policy_fail(
				c, -EBADMSG,
				"not a scope: host[:port][/namespace[/repo[:tag|@digest]]] in the fully expanded form "
				"(docker.io/library/busybox, not busybox), or *.domain");
		struct policy_requirements *reqs = &p->docker[p->n_docker];
		if (r >= 0) {
			p->n_docker++;
			reqs->scope = strdup(scope);
			r = reqs->scope ? policy_parse_requirements(c, v, reqs) : -ENOMEM;
		}
		policy_path_pop(c, old);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Other transports are parsed as strictly (podman would refuse the file
 * for them too) into a scratch list, then dropped. */
static int parse_other_transport(struct policy_parse *c, const char *name, json_t *scopes, struct policy *p)
{
	if (json_object_size(scopes) > POLICY_SCOPES_MAX)
		return policy_fail(c, -E2BIG, "more than %d scopes", POLICY_SCOPES_MAX);
	const char *scope;
	json_t *v;
	json_object_foreach(scopes, scope, v)
	{
		size_t old = policy_path_push_key(c, scope);
		struct policy_requirements scratch = {};
		int r = policy_parse_requirements(c, v, &scratch);
		policy_requirements_done(&scratch);
		policy_path_pop(c, old);
		if (r < 0)
			return r;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	p->ignored_transports[p->n_ignored_transports++] = copy;
	return 0;
}

static int parse_transports(struct policy_parse *c, json_t *transports, struct policy *p)
{
	if (!json_is_object(transports))
		return policy_fail(c, -EBADMSG, "%s, not an object", policy_json_type_name(transports));
	size_t n = json_object_size(transports);
	if (n > POLICY_TRANSPORTS_MAX)
		return policy_fail(c, -E2BIG, "more than %d transports", POLICY_TRANSPORTS_MAX);
	p->ignored_transports = calloc(n ? n : 1, sizeof(char *));
	if (!p->ignored_transports)
		return -ENOMEM;
	const char *name;
	json_t *scopes;
	json_object_foreach(transports, name, scopes)
	{
		size_t old = policy_path_push_key(c, name);
		int r;
		if (!json_is_object(scopes))
			r = policy_fail(c, -EBADMSG, "%s, not an object of scopes", policy_json_type_name(scopes));
		else if (streq(name, "docker"))
			r = parse_docker(c, scopes, p);
		else
			r = parse_other_transport(c, name, scopes, p);
		policy_path_pop(c, old);
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
	struct policy_parse c = { .file = file ? file : "policy", .error = error, .path = "$" };
	if (error)
		error->message[0] = '\0';
	if (size > POLICY_SIZE_MAX)
		return policy_fail(&c, -E2BIG, "%zu bytes, over the limit of %d", size, POLICY_SIZE_MAX);
	if (nesting_exceeds(buf, size, POLICY_DEPTH_MAX))
		return policy_fail(&c, -E2BIG, "nested deeper than %d levels", POLICY_DEPTH_MAX);

	json_error_t jerr;
	json_t *root = json_loadb(buf, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char shown[160];
		sanitize_to(shown, sizeof(shown), jerr.text);
		return policy_fail(&c, -EBADMSG, "not valid JSON (line %d, column %d): %s", jerr.line, jerr.column,
				   shown);
	}

	_cleanup_(policy_freep) struct policy *p = calloc(1, sizeof(*p));
	int r = p ? 0 : -ENOMEM;
	if (r >= 0) {
		p->file = strdup(c.file);
		r = p->file ? 0 : -ENOMEM;
	}
	static const char *const fields[] = { "default", "transports", NULL };
	if (r >= 0 && !json_is_object(root))
		r = policy_fail(&c, -EBADMSG, "%s, not an object", policy_json_type_name(root));
	if (r >= 0)
		r = policy_check_fields(&c, root, fields);
	json_t *fallback = r >= 0 ? json_object_get(root, "default") : NULL;
	if (r >= 0 && !fallback)
		r = policy_fail(&c, -EBADMSG, "\"default\" is missing (the requirements for images no scope names)");
	if (r >= 0) {
		size_t old = policy_path_push_key(&c, "default");
		r = policy_parse_requirements(&c, fallback, &p->fallback);
		policy_path_pop(&c, old);
	}
	json_t *transports = r >= 0 ? json_object_get(root, "transports") : NULL;
	if (r >= 0 && transports) {
		size_t old = policy_path_push_key(&c, "transports");
		r = parse_transports(&c, transports, p);
		policy_path_pop(&c, old);
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
	struct policy_parse c = { .file = path, .error = error, .path = "$" };
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
		return policy_fail(&c, -EBADMSG, "not a regular file");
	if (st.st_size > POLICY_SIZE_MAX)
		return policy_fail(&c, -E2BIG, "%lld bytes, over the limit of %d", (long long) st.st_size,
				   POLICY_SIZE_MAX);
	/* Read up to one byte past the bound, in case the file grew. */
	_cleanup_free_ char *buf = malloc(POLICY_SIZE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t n = pread_full(fd, buf, POLICY_SIZE_MAX + 1, 0);
	if (n < 0)
		return (int) n;
	if (n > POLICY_SIZE_MAX)
		return policy_fail(&c, -E2BIG, "over the limit of %d bytes", POLICY_SIZE_MAX);
	return policy_parse(buf, (size_t) n, path, ret, error);
}

struct policy *policy_free(struct policy *p)
{
	if (!p)
		return NULL;
	policy_requirements_done(&p->fallback);
	for (size_t i = 0; i < p->n_docker; i++)
		policy_requirements_done(&p->docker[i]);
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
