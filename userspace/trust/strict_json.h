/* SPDX-License-Identifier: Apache-2.0 */
/* Shapes of signed JSON (payloads, key files) are checked member by
 * member: an object must hold exactly the expected members, so a member
 * the writer meant to be critical is never silently ignored. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether o is an object with exactly the members in names, all present. */
static inline bool strict_json_has_exactly(json_t *o, const char *const *names, size_t n)
{
	if (!json_is_object(o) || json_object_size(o) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(o, names[i]))
			return false;
	return true;
}
