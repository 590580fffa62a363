/* SPDX-License-Identifier: Apache-2.0 */
/* Copy one regular file out of a squashfs image, as GRUB would find it:
 * symbolic links are followed inside the image only (an absolute target is
 * the image's root, ".." stops at it), never on the host. Used to put an
 * image's kernel and initrd beside it, where GRUB reads them without
 * mounting the image. */
#pragma once

#include <stdint.h>

/* Write the file at path inside image to out (temp beside it, fsync, rename,
 * fsync the directory; mode 0644). Refused with -ENOEXEC (logged, naming
 * path and why) when path does not resolve inside the image, is not a
 * regular file, is empty or holds more than max_bytes; -EBADMSG when the
 * image cannot be read; out is then untouched. */
int sqfs_extract_file(const char *image, const char *path, const char *out, uint64_t max_bytes);
