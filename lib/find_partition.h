/* SPDX-License-Identifier: Apache-2.0 */
/* Find a block device by filesystem label with libblkid, without udev
 * (kairos-boot in the initramfs; kairos-upgrade for recovery, OEM and
 * persistent, next to the state partition). */
#pragma once

#include <stddef.h>

#define DEVNODE_MAX 128
#define FSTYPE_MAX 32

#define UUID_MAX 64
#define DISK_MAX 64

struct partition {
	char devnode[DEVNODE_MAX];
	char fstype[FSTYPE_MAX];
	char uuid[UUID_MAX]; /* of the filesystem; "" if it has none */
	char disk[DISK_MAX]; /* the disk the partition is on ("vda" for vda5) */
	unsigned found;      /* filesystems with this label; more than 1 is a warning */
	char others[256];    /* the devices of those not taken, space separated */
};

/* Which filesystems with the label may be taken: requirements, never
 * preferences (a filesystem from another disk, a USB stick, must not be
 * mounted because ours is missing or late). Empty strings require nothing.
 * Exactly one filesystem may pass: two (a cloned disk, the label twice on
 * our disk) are refused rather than guessed between (docs/DESIGN.md). */
struct partition_rules {
	const char *uuid;   /* only the filesystem with this UUID (the state partition GRUB read) */
	const char *disks;  /* only one on these disks, space separated (recovery and persistent:
			    * the state partition's disk) */
	const char *fstype; /* only this type (the live medium: a hybrid ISO on a stick also
			     * shows its label on an HFS+ partition) */
};

#define PARTITION_CANDIDATES_MAX 16

/* The scan's decision, from the filesystems carrying the label (pure).
 * 0: ret is the one that passes the rules. -ENOENT: none has the label;
 * -EXDEV: some have it, none passes (another disk, another UUID);
 * -ENOTUNIQ: more than one passes. In every case ret->found is n and
 * ret->others names the filesystems not taken. */
int partition_choose(const struct partition *cand, size_t n, const struct partition_rules *rules,
		     struct partition *ret);

/* Add c to the n candidates of at most max; when full, it takes the place
 * of one that does not pass the rules, if it does (pure). */
void partition_candidates_add(struct partition *cand, size_t *n, size_t max, const struct partition *c,
			      const struct partition_rules *rules);

/* Probe every block device the kernel lists in /proc/partitions, polling
 * until partition_choose() takes one or timeout_ms passes (0: look once).
 * Disks show up late in early boot and nothing may run udev, so we poll
 * ourselves; the filesystem GRUB read is waited for even while another
 * with the label is there. Returns partition_choose()'s errors (logged),
 * with ret->others filled. */
int find_partition_by_label(const char *label, unsigned timeout_ms, const struct partition_rules *rules,
			    struct partition *ret);

/* The disk whose partition holds path's filesystem ("vda" for a file on
 * vda5): where the node's other partitions are looked for first. -ENODEV
 * when it is not on a block device. */
int partition_disk_of_path(const char *path, char *disk, size_t size);

/* The disk in a sysfs block device link's target: ".../block/vda/vda5" ->
 * "vda"; a whole disk (".../block/vda") is its own. Pure. */
void disk_from_sysfs_target(const char *target, char *disk, size_t size);
