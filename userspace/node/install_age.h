/* SPDX-License-Identifier: Apache-2.0 */
/* The anti-downgrade rule (trust/downgrade.h) where an image is installed:
 * upgrade (against the active image), upgrade --recovery (against the
 * recovery image), reset --source (against the active image it replaces,
 * see docs/DESIGN.md, "Anti-downgrade"). Runs after the manifest and the
 * config are read and before any layer byte, so a refusal writes nothing.
 * rollback, boot-next and mark-* install nothing and never ask. */
#pragma once

#include <stdbool.h>

#include "boot_state.h"
#include "image_meta.h"
#include "install_image.h"
#include "state_dir.h"

/* The candidate in->img against the image installed_id in slot on sd
 * (its .json; "" or NULL: nothing installed, nothing to compare).
 * Older: -EPERM, logged with both images' versions and times and what to
 * do, unless allow_downgrade (then logged and 0). Age unknown: a warning,
 * 0. */
int image_install_check_age(const struct image_install *in, const struct state_dir *sd, enum boot_slot slot,
			    const char *installed_id, bool allow_downgrade);

/* No upgrade can be compared with the image meta describes: it has no
 * version the rule can order and no meaningful created time (1970 is a
 * placeholder). status says "age unknown". */
bool image_meta_age_unknown(const struct image_meta *meta);
