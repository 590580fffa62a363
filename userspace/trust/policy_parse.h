/* SPDX-License-Identifier: Apache-2.0 */
/* Inside the policy parser (policy*.c only): where it is in the file, for
 * messages, the strict JSON checks every part makes, and the requirements
 * (policy_requirement.c), which the scopes and the default share. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "policy.h"

/* Where the parser is, for messages: the file and a JSON path. */
struct policy_parse {
	const char *file;
	struct policy_error *error;
	char path[256];
};

/* Sets error to "FILE: PATH: what" and returns r. */
int policy_fail(struct policy_parse *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Appends .key (or ["key"], sanitized and cut, for other names) to the
 * path; returns the old length, to restore with policy_path_pop(). */
size_t policy_path_push_key(struct policy_parse *c, const char *key);
size_t policy_path_push_index(struct policy_parse *c, size_t i);
void policy_path_pop(struct policy_parse *c, size_t old);
const char *policy_json_type_name(const json_t *v);
/* Every key of obj is one of allowed (NULL-terminated), else -EBADMSG. */
int policy_check_fields(struct policy_parse *c, json_t *obj, const char *const *allowed);
/* obj[key], a required string; -EBADMSG if missing or not one (*ret is
 * then "", never NULL). */
int policy_get_string(struct policy_parse *c, json_t *obj, const char *key, const char **ret);

/* A scope's list of requirements (at least one), into reqs. */
int policy_parse_requirements(struct policy_parse *c, json_t *v, struct policy_requirements *reqs);
void policy_requirements_done(struct policy_requirements *reqs);
