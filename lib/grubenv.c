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

/* As GRUB 2.06 reads a block (grub_envblk_open and grub_envblk_iterate): the
 * C side must accept exactly what grub.cfg's load_env does, or the two would
 * boot different slots from the same files. Only the header is checked; a
 * name runs to the next '=' (across newlines: such a name matches nothing),
 * a value to the next unescaped newline; at a name or value cut off by the
 * end, reading stops quietly, keeping what came before. */
int grubenv_parse(const char *buf, size_t len, struct grubenv *env)
{
	static const size_t header_len = sizeof(GRUBENV_HEADER) - 1;

	*env = (struct grubenv){ 0 };
	if (len <= header_len || len > GRUBENV_READ_MAX)
		return -EMSGSIZE;
	if (memcmp(buf, GRUBENV_HEADER, header_len) != 0)
		return -EBADMSG;

	const char *p = buf + header_len, *end = buf + len;
	while (p < end) {
		if (*p != '#') {
			const char *name = p;
			while (p < end && *p != '=')
				p++;
			if (p == end)
				break;
			const char *name_end = p++, *value = p;
			while (p < end && *p != '\n') {
				if (*p == '\\')
					p++;
				p++;
			}
			if (p >= end)
				break;
			/* GRUB keeps names and values as C strings: a NUL ends them. */
			_cleanup_free_ char *key = strndup(name, (size_t) (name_end - name));
			_cleanup_free_ char *val = unescape(value, (size_t) (p - value));
			if (!key || !val) {
				grubenv_free(env);
				return -ENOMEM;
			}
			/* A name GRUB would set but no reader asks for (a newline,
			 * a backslash, empty): nothing to keep. */
			if (!key_is_valid(key))
				goto next;
			int r = grubenv_set(env, key, val);
			if (r < 0) {
				grubenv_free(env);
				return r;
			}
		}
	next:
		while (p < end && *p != '\n')
			p++;
		p++;
	}
	return 0;
}

const char *grubenv_strerror(int error)
{
	switch (error) {
	case -EMSGSIZE:
		return "no more than its header, or over 64 KiB";
	case -EBADMSG:
		return "not a GRUB environment block (damaged header)";
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
	memset(o, '#', (size_t) (out + GRUBENV_SIZE - o));
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
	vars[env->n_vars++] = (struct grubenv_var){ .key = kcopy, .value = copy };
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
	size_t i = (size_t) (v - env->vars);
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
	*env = (struct grubenv){ 0 };
}

int grubenv_read_file(const char *path, struct grubenv *env)
{
	size_t len = 0;
	*env = (struct grubenv){ 0 };
	_cleanup_free_ char *buf = malloc(GRUBENV_READ_MAX + 1);
	if (!buf)
		return -ENOMEM;
	/* Read one byte more than the bound so that an oversized file is noticed. */
	int r = read_file_bounded(path, buf, GRUBENV_READ_MAX + 1, &len);
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
