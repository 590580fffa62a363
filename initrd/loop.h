/* SPDX-License-Identifier: Apache-2.0 */
/* Read-only loop devices for squashfs images. */
#pragma once

#include <stddef.h>

/* Attach file to a free loop device, read-only and auto-clearing (the
 * device goes away when its last user, the mount, goes). Returns an open fd
 * on the loop device and its node in devnode. The caller must keep the fd
 * open until the mount has succeeded: auto-clear fires at the last close,
 * and a mount racing with that sees I/O errors. */
int loop_attach_ro(const char *file, char *devnode, size_t size);
