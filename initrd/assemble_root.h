/* SPDX-License-Identifier: Apache-2.0 */
/* Mounting: the stack of what was mounted (so a failure unmounts it all, in
 * reverse), the read-only image, the overlays and binds of a mount plan, and
 * the final move of the finished root onto its target. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "boot_record.h"
#include "durable.h" /* mkdir_parents() */
#include "mount_plan.h"

#define MOUNT_STACK_MAX 128

struct mount_stack {
	char *paths[MOUNT_STACK_MAX];
	size_t n;
};

/* mount(2), and on success remember target for mount_stack_unwind(). */
int mount_stack_mount(struct mount_stack *st, const char *source, const char *target, const char *fstype,
		      unsigned long flags, const char *data);
/* Unmount everything above depth keep, newest first. */
void mount_stack_unwind(struct mount_stack *st, size_t keep);
/* Forget the entries without unmounting (they now live elsewhere or stay). */
void mount_stack_release(struct mount_stack *st);

/* Loop-attach image read-only and mount it (squashfs, ro) on where.
 * *image_fault says whether a failure is the image's (it does not mount)
 * rather than this system's (no loop device, no squashfs in the kernel):
 * only the first kind may mark a slot bad. */
int mount_image(struct mount_stack *st, const char *image, const char *where, bool *image_fault);

/* mount_image() through a dm-verity device (/dev/mapper/dm_name) checked
 * against v, state.env's record of the slot: root hash, data blocks and
 * hash start block from it, the salt from the image's verity superblock
 * (the root hash covers it; its data blocks must be v's). The device is
 * removed when the mount goes (deferred remove), at once on a failure.
 * *image_fault as mount_image(); failures of the setup are the image's
 * but for a kernel without device-mapper. error: why (the record's);
 * table: the table line (BOOT_RECORD_VERITY_MAX). */
int mount_image_verity(struct mount_stack *st, const char *image, const struct slot_verity *v, const char *dm_name,
		       const char *where, bool *image_fault, char *error, size_t error_size, char *table,
		       size_t table_size);

enum step_result {
	STEP_PENDING,
	STEP_MOUNTED,
	STEP_SEEDED,  /* bind, whose persistent data was created from the image just now */
	STEP_SKIPPED, /* no such directory in the image (and none can be made), or a symlink */
};

/* Carry out plan on the image mounted at newroot. Overlay upper and work
 * directories go to overlay_dir (a tmpfs); persistent data lives at
 * persistent_dir/.state/NAME. results[i] says what became of step i. */
int assemble_root(struct mount_stack *st, const struct mount_plan *plan, const char *newroot, const char *overlay_dir,
		  const char *persistent_dir, enum step_result *results);

/* The record's mounts: what became of each step of plan (results as
 * assemble_root() left them). */
void assemble_root_record(const struct mount_plan *plan, const enum step_result *results, struct boot_record *rec);

/* Move the root (and every mount under it) onto target in one step. */
int move_root(const char *newroot, const char *target);

/* snprintf() that fails (-ENAMETOOLONG) instead of truncating a path. */
__attribute__((format(printf, 3, 4))) int path_printf(char *buf, size_t size, const char *fmt, ...);
