/* SPDX-License-Identifier: Apache-2.0 */
#include "grubenv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "util.h"

static bool key_is_valid(const char *key)
{
	return key[0] != '\0' && key[0] != '#' && strpbrk(key, "=\n\\") == NULL;
}

/* Unescape GRUB's value encoding: a backslash makes the next byte literal. */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

int grubenv_parse(const char *buf, size_t len, struct grubenv *env)
{
	static const size_t header_len = sizeof(GRUBENV_HEADER) - 1;

	*env = (struct grubenv){0};
	if (len != GRUBENV_SIZE)
		return -EMSGSIZE;
	if (memcmp(buf, GRUBENV_HEADER, header_len) != 0)
		return -EBADMSG;
	if (memchr(buf, '\0', len))
		return -EBADMSG;

	const char *p = buf + header_len, *end = buf + len;
	while (p < end) {
		/* Find the end of this logical line: a newline not escaped by a backslash. */
		const char *eol = p;
		while (eol < end && *eol != '\n') {
			if (*eol == '\\' && eol + 1 < end)
				eol++;
			eol++;
		}
		if (*p == '#') {
			/* Comments, GRUB's warning line and the padding. */
			p = eol + 1;
			continue;
		}
		if (eol >= end) {
			/* A variable line must be complete; GRUB would not write one cut off. */
			grubenv_free(env);
			return -EBADMSG;
		}
		const char *eq = memchr(p, '=', (size_t)(eol - p));
		if (!eq || eq == p) {
			grubenv_free(env);
			return -EBADMSG;
		}
		_cleanup_free_ char *key = strndup(p, (size_t)(eq - p));
		_cleanup_free_ char *value = unescape(eq + 1, (size_t)(eol - eq - 1));
		if (!key || !value) {
			grubenv_free(env);
			return -ENOMEM;
		}
		if (!key_is_valid(key)) {
			grubenv_free(env);
			return -EBADMSG;
		}
		int r = grubenv_set(env, key, value);
		if (r < 0) {
			grubenv_free(env);
			return r;
		}
		p = eol + 1;
	}
	return 0;
}

const char *grubenv_strerror(int error)
{
	switch (error) {
	case -EMSGSIZE:
		return "not a 1024-byte GRUB environment block";
	case -EBADMSG:
		return "damaged header, or a line that is not name=value";
	default:
		return strerror(-error);
	}
}

static size_t escaped_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += (*s == '\\' || *s == '\n') ? 2 : 1;
	return n;
}

int grubenv_format(const struct grubenv *env, char out[GRUBENV_SIZE])
{
	size_t need = sizeof(GRUBENV_HEADER) - 1;
	for (size_t i = 0; i < env->n_vars; i++)
		need += strlen(env->vars[i].key) + 1 + escaped_len(env->vars[i].value) + 1;
	if (need > GRUBENV_SIZE)
		return -ENOSPC;

	char *o = out;
	memcpy(o, GRUBENV_HEADER, sizeof(GRUBENV_HEADER) - 1);
	o += sizeof(GRUBENV_HEADER) - 1;
	for (size_t i = 0; i < env->n_vars; i++) {
		size_t klen = strlen(env->vars[i].key);
		memcpy(o, env->vars[i].key, klen);
		o += klen;
		*o++ = '=';
		for (const char *v = env->vars[i].value; *v; v++) {
			if (*v == '\\' || *v == '\n')
				*o++ = '\\';
			*o++ = *v;
		}
		*o++ = '\n';
	}
	memset(o, '#', (size_t)(out + GRUBENV_SIZE - o));
	return 0;
}

static struct grubenv_var *find(const struct grubenv *env, const char *key)
{
	for (size_t i = 0; i < env->n_vars; i++)
		if (streq(env->vars[i].key, key))
			return &env->vars[i];
	return NULL;
}

const char *grubenv_get(const struct grubenv *env, const char *key)
{
	struct grubenv_var *v = find(env, key);
	return v ? v->value : NULL;
}

int grubenv_set(struct grubenv *env, const char *key, const char *value)
{
	if (!key_is_valid(key))
		return -EINVAL;
	char *copy = strdup(value);
	if (!copy)
		return -ENOMEM;

	struct grubenv_var *v = find(env, key);
	if (v) {
		free(v->value);
		v->value = copy;
		return 0;
	}
	char *kcopy = strdup(key);
	struct grubenv_var *vars = kcopy ? realloc(env->vars, (env->n_vars + 1) * sizeof(*vars)) : NULL;
	if (!vars) {
		free(kcopy);
		free(copy);
		return -ENOMEM;
	}
	vars[env->n_vars++] = (struct grubenv_var){.key = kcopy, .value = copy};
	env->vars = vars;
	return 0;
}

int grubenv_unset(struct grubenv *env, const char *key)
{
	struct grubenv_var *v = find(env, key);
	if (!v)
		return 0;
	free(v->key);
	free(v->value);
	size_t i = (size_t)(v - env->vars);
	memmove(v, v + 1, (env->n_vars - i - 1) * sizeof(*v));
	env->n_vars--;
	return 0;
}

void grubenv_free(struct grubenv *env)
{
	for (size_t i = 0; i < env->n_vars; i++) {
		free(env->vars[i].key);
		free(env->vars[i].value);
	}
	free(env->vars);
	*env = (struct grubenv){0};
}

int grubenv_read_file(const char *path, struct grubenv *env)
{
	char buf[GRUBENV_SIZE + 1];
	size_t len = 0;
	*env = (struct grubenv){0};
	/* Read one byte more than a block so that an oversized file is noticed. */
	int r = read_file_bounded(path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return grubenv_parse(buf, len, env);
}

int grubenv_write_file_atomic(const char *path, const struct grubenv *env)
{
	char block[GRUBENV_SIZE];
	int r = grubenv_format(env, block);
	if (r < 0)
		return r;
	return write_file_atomic(path, block, sizeof(block), 0644);
}

int grubenv_write_file_in_place(const char *path, const struct grubenv *env)
{
	char block[GRUBENV_SIZE];
	int r = grubenv_format(env, block);
	if (r < 0)
		return r;
	return write_file_in_place(path, block, sizeof(block));
}
