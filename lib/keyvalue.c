/* SPDX-License-Identifier: Apache-2.0 */
#include "keyvalue.h"

#include <errno.h>
#include <string.h>

#include "util.h"

int keyvalue_parse(const char *text, keyvalue_fn fn, void *userdata)
{
	_cleanup_free_ char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;

	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line = strip_blanks(line);
		if (!*line || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq) {
			fn(line, NULL, userdata);
			continue;
		}
		*eq = '\0';
		fn(strip_blanks(line), strip_blanks(eq + 1), userdata);
	}
	return 0;
}
