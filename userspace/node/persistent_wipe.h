/* SPDX-License-Identifier: Apache-2.0 */
/* reset --wipe-persistent: the persistent data goes, either as a directory
 * emptied (tests, offline work) or as the partition's filesystem recreated.
 * Each is a fault point ("wipe"). */
#pragma once

#include "state_dir.h"

/* Remove everything below dir (dir itself stays) and sync it. */
int persistent_wipe_dir(const char *dir);

/* Recreate the ext4 filesystem (label kept) of dev, or with dev NULL of the
 * partition labelled label on this node's disk (waiting up to wait_ms; none
 * there: nothing to wipe, 0). -EBUSY, touching nothing, while anything has
 * it mounted. */
int persistent_wipe_partition(const struct state_dir *sd, const char *dev, const char *label, unsigned wait_ms);
