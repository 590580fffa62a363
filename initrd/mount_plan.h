/* SPDX-License-Identifier: Apache-2.0 */
/* The mounts that turn a read-only image into a usable root, as a pure list
 * (no I/O) so the policy can be unit-tested apart from the mounting. */
#pragma once

#include <stdbool.h>

#include "boot_options.h"
#include "boot_state.h"

enum mount_kind {
	MOUNT_OVERLAY, /* tmpfs-backed overlay over the image's directory */
	MOUNT_BIND,    /* a directory of the persistent partition */
};

struct mount_step {
	enum mount_kind kind;
	char path[BOOT_PATH_MAX];     /* where, inside the new root */
	char name[BOOT_PATH_MAX * 4]; /* path escaped into one file name (upper dirs, /.state/NAME) */
};

struct mount_plan {
	struct mount_step steps[2 * BOOT_PATHS_MAX];
	size_t n;
	bool persistent; /* binds from the persistent partition are part of it */
};

/* Recovery, and any boot without the persistent partition, gets tmpfs
 * overlays only: each persistent path not already under an overlay gets its
 * own overlay, so it is writable (and forgotten at reboot). A path both in
 * the overlay and persistent lists is a bind when persistent is used.
 * Steps are ordered parents first, so a bind on /var/log lands on top of
 * the /var overlay and is not hidden by it. */
int mount_plan_build(const struct boot_options *o, enum boot_slot slot, bool have_persistent, struct mount_plan *plan);

/* "/var/log" -> "var-log": '/' becomes '-', anything but [A-Za-z0-9.]
 * becomes _NN (hex), so distinct paths get distinct names, and the names
 * need no quoting in overlayfs options (where backslash, ',' and ':' have meanings). */
int path_escape(const char *path, char *buf, size_t size);

const char *mount_kind_to_string(enum mount_kind kind);
