/* SPDX-License-Identifier: Apache-2.0 */
/* The state partition as kairos-upgrade sees it: a directory (the mounted
 * COS_STATE, or --state-dir for tests and offline work) holding state.env,
 * counter.env and images/, plus where recovery images live. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "boot_record.h"
#include "boot_state.h"
#include "image_meta.h"

#define STATE_DIR_DEFAULT "/run/kairos/state"       /* kairos-boot leaves COS_STATE mounted here */
#define RECOVERY_DIR_DEFAULT "/run/kairos/recovery" /* COS_RECOVERY, when mounted */
#define BOOT_RECORD_DEFAULT BOOT_RECORD_PATH        /* kairos-boot writes it */
#define LOCK_FILE ".kairos-upgrade.lock"

struct state_dir {
	char *path;          /* holds state.env, counter.env, images/ */
	char *recovery_path; /* holds images/ for the recovery slot */
	int lock_fd;         /* -1 until state_dir_lock() */
};

/* Where things are; recovery_path NULL means "same as path" (directory mode). */
int state_dir_open(struct state_dir *sd, const char *path, const char *recovery_path);
void state_dir_close(struct state_dir *sd);

/* One kairos-upgrade at a time changes the state: an exclusive lock on a file
 * in the state directory. -EBUSY (logged, naming the holder's pid) when another
 * run holds it. */
int state_dir_lock(struct state_dir *sd);
/* The same, waiting up to wait_ms for the holder to finish first. */
int state_dir_lock_wait(struct state_dir *sd, unsigned wait_ms);
#define LOCK_POLL_MS 100

/* An image's files in images/, named by its id: the squashfs, its metadata,
 * and the kernel and initrd copied out of it, which GRUB boots without
 * reading the squashfs (grub/grub.cfg spells the same names). */
#define IMAGE_EXT_SQUASHFS ".squashfs"
#define IMAGE_EXT_META ".json"
#define IMAGE_EXT_KERNEL ".vmlinuz"
#define IMAGE_EXT_INITRD ".initrd"
/* Its layers' entries (image/layer_index.h): a later image built FROM
 * this one replays them instead of downloading them. Not needed to boot. */
#define IMAGE_EXT_INDEX ".index"

/* "<dir>/images/<id>.squashfs" for a slot (recovery lives in recovery_path). */
char *state_dir_image_path(const struct state_dir *sd, enum boot_slot slot, const char *id);
char *state_dir_meta_path(const struct state_dir *sd, enum boot_slot slot, const char *id);
/* "<dir>/images/<id><ext>", ext one of the IMAGE_EXT_ names. */
char *state_dir_image_file(const struct state_dir *sd, enum boot_slot slot, const char *id, const char *ext);

/* The metadata (.json) of a slot's image. A recovery image's sits on
 * COS_RECOVERY, which a running node does not keep mounted: when the default
 * recovery directory is not a mount point, the partition is mounted
 * read-only (no journal replay) on a private folder for the read and
 * unmounted again. Returns 0, -ENOENT, or another negative errno (the
 * caller shows the size, time and source as unknown). */
int state_dir_read_meta(const struct state_dir *sd, enum boot_slot slot, const char *id, struct image_meta *meta);

/* Remove what an interrupted run left (temporary files) and images no slot
 * references (each with its metadata, kernel and initrd); keep_id (the booted image, may be NULL) is never removed.
 * Returns the number of files removed, or a negative errno. */
int state_dir_clean(const struct state_dir *sd, const struct boot_state *s, const char *keep_id);

/* Mount COS_RECOVERY (or kairos.recovery_label= from cmdline_path) read-write
 * on the default recovery directory when nothing is mounted there: a running
 * active node has only COS_STATE mounted. A no-op for other directories. */
int state_dir_mount_recovery(const struct state_dir *sd, const char *cmdline_path);

/* The device of this node's partition with label (waiting up to wait_ms):
 * the one on the disk of the state directory's partition when the label is
 * on more than one filesystem (another node's disk plugged in). Found only
 * on another disk: -EXDEV; duplicates and the state not on a disk:
 * -ENOTUNIQ; both logged (a wipe must never guess). -ENOENT when none. */
int state_dir_find_partition(const struct state_dir *sd, const char *label, unsigned wait_ms, char **ret);

/* Free bytes for an unprivileged-safe estimate (f_bavail). */
int state_dir_free_bytes(const char *path, uint64_t *free_bytes);
