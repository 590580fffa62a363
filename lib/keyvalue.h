/* SPDX-License-Identifier: Apache-2.0 */
/* "key=value" configuration text: /etc/kairos/boot.conf inside an image
 * (initrd/boot_options.c) and kairos.conf on COS_OEM
 * (userspace/node/recovery_policy.c). Not the kernel command line
 * (lib/cmdline.h: words, quotes) nor a GRUB environment block
 * (lib/grubenv.h: GRUB's own rules, no trimming). */
#pragma once

/* One line: key and value with leading blanks (space, tab) and trailing
 * blanks or '\r' trimmed. value is NULL on a line without '=', key then
 * being the whole (trimmed) line; the readers say whether that is an error.
 * Both are valid only during the call. */
typedef void (*keyvalue_fn)(const char *key, const char *value, void *userdata);

/* Call fn for each line of text (lines end at '\n'; the last may not) that
 * is not blank and does not start with '#', in order, split at its first
 * '='. text ends at its first NUL; its length is the caller's to bound (it
 * is copied once). Returns 0, or -ENOMEM. */
int keyvalue_parse(const char *text, keyvalue_fn fn, void *userdata);
