/* SPDX-License-Identifier: Apache-2.0 */
/* The policy parser's strict JSON walk: messages with a path, unknown
 * fields, required strings. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_parse.h"
#include "sanitize.h"
#include "util.h"

int policy_fail(struct policy_parse *c, int r, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->error)
		snprintf(c->error->message, sizeof(c->error->message), "%.200s: %.255s: %.255s", c->file, c->path,
			 what);
	return r;
}

/* Appends .key (or ["key"], sanitized and cut, for other names) to the
 * path; returns the old length, to restore with policy_path_pop(). */
size_t policy_path_push_key(struct policy_parse *c, const char *key)
{
	size_t old = strlen(c->path);
	bool plain =
		*key && strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(key);
	char shown[80];
	sanitize_to(shown, sizeof(shown), key);
	if (plain)
		snprintf(c->path + old, sizeof(c->path) - old, ".%s", shown);
	else
		snprintf(c->path + old, sizeof(c->path) - old, "[\"%s\"]", shown);
	return old;
}

size_t policy_path_push_index(struct policy_parse *c, size_t i)
{
	size_t old = strlen(c->path);
	snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);
	return old;
}

void policy_path_pop(struct policy_parse *c, size_t old)
{
	c->path[old] = '\0';
}

const char *policy_json_type_name(const json_t *v)
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
int policy_check_fields(struct policy_parse *c, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = streq(key, *a);
		if (!known) {
			size_t old = policy_path_push_key(c, key);
			int r = policy_fail(c, -EBADMSG, "unknown field");
			policy_path_pop(c, old);
			return r;
		}
	}
	return 0;
}

/* obj[key], a required string; -EBADMSG if missing or not one (*ret is
 * then "", never NULL). */
int policy_get_string(struct policy_parse *c, json_t *obj, const char *key, const char **ret)
{
	json_t *v = json_object_get(obj, key);
	*ret = "";
	if (!v)
		return policy_fail(c, -EBADMSG, "\"%s\" is missing", key);
	if (!json_is_string(v)) {
		size_t old = policy_path_push_key(c, key);
		int r = policy_fail(c, -EBADMSG, "%s, not a string", policy_json_type_name(v));
		policy_path_pop(c, old);
		return r;
	}
	*ret = json_string_value(v);
	return 0;
}
