/* SPDX-License-Identifier: Apache-2.0 */
#include "cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "util.h"

/* The kernel caps its command line at a few KiB; refuse anything far larger. */
#define CMDLINE_MAX 65536

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int add_word(struct cmdline *c, const char *word)
{
	struct cmdline_arg *args = realloc(c->args, (c->n_args + 1) * sizeof(*args));
	if (!args)
		return -ENOMEM;
	c->args = args;

	const char *eq = strchr(word, '=');
	struct cmdline_arg a = {
		.key = eq ? strndup(word, (size_t) (eq - word)) : strdup(word),
		.value = eq ? strdup(eq + 1) : NULL,
	};
	if (!a.key || (eq && !a.value)) {
		free(a.key);
		free(a.value);
		return -ENOMEM;
	}
	c->args[c->n_args++] = a;
	return 0;
}

int cmdline_parse(const char *text, struct cmdline *c)
{
	*c = (struct cmdline){ 0 };
	size_t len = strlen(text);
	if (len > CMDLINE_MAX)
		return -E2BIG;

	_cleanup_free_ char *word = malloc(len + 1);
	if (!word)
		return -ENOMEM;

	const char *p = text;
	for (;;) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;

		size_t n = 0;
		bool quoted = false;
		for (; *p && (quoted || !is_space(*p)); p++) {
			if (*p == '"')
				quoted = !quoted;
			else
				word[n++] = *p;
		}
		word[n] = '\0';
		if (streq(word, "--"))
			break;
		if (n == 0)
			continue; /* "" alone */
		int r = add_word(c, word);
		if (r < 0) {
			cmdline_free(c);
			return r;
		}
	}
	return 0;
}

int cmdline_read_file(const char *path, struct cmdline *c)
{
	_cleanup_free_ char *buf = malloc(CMDLINE_MAX + 1);
	size_t len = 0;
	*c = (struct cmdline){ 0 };
	if (!buf)
		return -ENOMEM;
	int r = read_file_bounded(path, buf, CMDLINE_MAX + 1, &len);
	if (r < 0)
		return r;
	if (len > CMDLINE_MAX)
		return -E2BIG;
	if (memchr(buf, '\0', len))
		return -EBADMSG;
	buf[len] = '\0';
	return cmdline_parse(buf, c);
}

void cmdline_free(struct cmdline *c)
{
	for (size_t i = 0; i < c->n_args; i++) {
		free(c->args[i].key);
		free(c->args[i].value);
	}
	free(c->args);
	*c = (struct cmdline){ 0 };
}

const char *cmdline_next(const struct cmdline *c, const char *key, size_t *pos)
{
	for (; *pos < c->n_args; (*pos)++)
		if (streq(c->args[*pos].key, key) && c->args[*pos].value)
			return c->args[(*pos)++].value;
	return NULL;
}

const char *cmdline_get(const struct cmdline *c, const char *key)
{
	const char *last = NULL, *v;
	size_t pos = 0;
	while ((v = cmdline_next(c, key, &pos)))
		last = v;
	return last;
}

bool cmdline_has(const struct cmdline *c, const char *key)
{
	for (size_t i = 0; i < c->n_args; i++)
		if (streq(c->args[i].key, key))
			return true;
	return false;
}
