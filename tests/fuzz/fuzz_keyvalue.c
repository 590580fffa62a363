/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the key=value reader (boot.conf comes from an image, kairos.conf
 * from COS_OEM) must never crash or leak, and hands out only trimmed,
 * one-line keys and values. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyvalue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_trimmed(const char *s)
{
	size_t n = strlen(s);
	assert(!strchr(s, '\n'));
	assert(n == 0 || (s[0] != ' ' && s[0] != '\t'));
	assert(n == 0 || (s[n - 1] != ' ' && s[n - 1] != '\t' && s[n - 1] != '\r'));
}

static void check_line(const char *key, const char *value, void *userdata)
{
	(void) userdata;
	check_trimmed(key);
	if (value) {
		assert(!strchr(key, '='));
		check_trimmed(value);
	} else {
		assert(key[0] != '\0' && key[0] != '#');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The text ends at a NUL, as the callers' does. */
	char *text = strndup((const char *) data, size);
	if (!text)
		return 0;
	(void) keyvalue_parse(text, check_line, NULL);
	free(text);
	return 0;
}
