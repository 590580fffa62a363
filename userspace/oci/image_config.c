/* SPDX-License-Identifier: Apache-2.0 */
#include "image_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "downgrade.h"

/* strnlen: a hostile string is never walked past its bound. */
static bool bounded_printable(const char *s, size_t max)
{
	if (!s)
		return false;
	size_t n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f) /* controls, space, DEL and every byte >= 0x80 */
			return false;
	return true;
}

bool image_created_is_valid(const char *s)
{
	int64_t sec;
	uint32_t nsec;
	return bounded_printable(s, IMAGE_CREATED_MAX) && rfc3339_parse(s, &sec, &nsec) >= 0;
}

bool image_version_is_valid(const char *s)
{
	return bounded_printable(s, IMAGE_VERSION_MAX);
}

/* A JSON string with a NUL inside ("1.2\u0000...") is not the C string it reads as. */
static int dup_valid(json_t *v, bool (*valid)(const char *), char **ret)
{
	*ret = NULL;
	const char *s = json_string_value(v);
	if (!s || strlen(s) != json_string_length(v) || !valid(s))
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int image_config_age(json_t *config, char **ret_created, char **ret_version)
{
	*ret_created = *ret_version = NULL;
	json_t *labels = json_object_get(json_object_get(config, "config"), "Labels");
	int r = dup_valid(json_object_get(config, "created"), image_created_is_valid, ret_created);
	if (r == 0)
		r = dup_valid(json_object_get(labels, IMAGE_VERSION_LABEL), image_version_is_valid, ret_version);
	if (r < 0) {
		free(*ret_created);
		*ret_created = NULL;
	}
	return r;
}
