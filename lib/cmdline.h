/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel command line: whitespace-separated words, double quotes group
 * (and are removed, as the kernel does), "key=value" or a bare "key".
 * Words after a lone "--" belong to init and are not parsed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct cmdline_arg {
	char *key;
	char *value; /* NULL for a bare word */
};

struct cmdline {
	struct cmdline_arg *args;
	size_t n_args;
};

int cmdline_parse(const char *text, struct cmdline *c);
/* Read and parse a file (normally /proc/cmdline; tests pass their own). */
int cmdline_read_file(const char *path, struct cmdline *c);
void cmdline_free(struct cmdline *c);

/* The value of the last occurrence of key that has one (the kernel's rule
 * for repeats); NULL if absent or only bare. */
const char *cmdline_get(const struct cmdline *c, const char *key);
bool cmdline_has(const struct cmdline *c, const char *key);
/* Iterate every occurrence of key: start with *pos = 0. */
const char *cmdline_next(const struct cmdline *c, const char *key, size_t *pos);
