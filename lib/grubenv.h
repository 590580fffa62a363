/* SPDX-License-Identifier: Apache-2.0 */
/* The GRUB environment block: exactly 1024 bytes, a fixed header line,
 * "name=value" lines (backslash escapes '\\' and newline, as GRUB does),
 * padded with '#'. GRUB's save_env rewrites an existing block in place. */
#pragma once

#include <stddef.h>

#define GRUBENV_SIZE 1024
#define GRUBENV_READ_MAX (64 * 1024)
#define GRUBENV_HEADER "# GRUB Environment Block\n"

struct grubenv_var {
	char *key;
	char *value;
};

struct grubenv {
	struct grubenv_var *vars;
	size_t n_vars;
};

/* Parse a block as GRUB 2.06's load_env does (a block GRUB writes is
 * GRUBENV_SIZE bytes, but GRUB reads any size). -EMSGSIZE: no more than the
 * header, or over GRUBENV_READ_MAX (a bound of ours: GRUB has none);
 * -EBADMSG: damaged header. A broken line ends the block quietly; names
 * that no reader could ask for are skipped. Repeated names: the last one
 * wins, as in GRUB. */
int grubenv_parse(const char *buf, size_t len, struct grubenv *env);

/* Serialize into exactly GRUBENV_SIZE bytes; -ENOSPC if it does not fit. */
int grubenv_format(const struct grubenv *env, char out[GRUBENV_SIZE]);

/* What a parse error means, for messages. */
const char *grubenv_strerror(int error);

const char *grubenv_get(const struct grubenv *env, const char *key);
/* -EINVAL for a name GRUB could not read back (empty, '=', newline, leading '#'). */
int grubenv_set(struct grubenv *env, const char *key, const char *value);
int grubenv_unset(struct grubenv *env, const char *key);
void grubenv_free(struct grubenv *env);

/* File forms. read: -ENOENT when missing, parse errors as above.
 * write_atomic: temp + fsync + rename + directory fsync (userspace-owned files).
 * write_in_place: overwrite an existing block of the right size without
 * reallocating it, the way GRUB's save_env does; creates it when missing. */
int grubenv_read_file(const char *path, struct grubenv *env);
int grubenv_write_file_atomic(const char *path, const struct grubenv *env);
int grubenv_write_file_in_place(const char *path, const struct grubenv *env);
