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
	char others[256];    /* the devices of those not chosen, space separated */
};

/* Which one to take when a label appears more than once (a second disk
 * with an installed system, a cloned disk): the one with this filesystem
 * UUID (the state partition GRUB read), else one on this disk (recovery and
 * persistent next to the state partition), else the first the kernel lists.
 * Empty strings prefer nothing. */
struct partition_preference {
	const char *uuid;
	const char *disk;
};

/* Probe every block device the kernel lists in /proc/partitions, polling
 * until one has this label or timeout_ms passes (0: look once). Disks show
 * up late in early boot and nothing may run udev, so we poll ourselves.
 * -ENOENT when not found in time. */
int find_partition_by_label(const char *label, unsigned timeout_ms, const struct partition_preference *prefer,
			    struct partition *ret);

/* The disk whose partition holds path's filesystem ("vda" for a file on
 * vda5): where the node's other partitions are looked for first. -ENODEV
 * when it is not on a block device. */
int partition_disk_of_path(const char *path, char *disk, size_t size);

/* The disk in a sysfs block device link's target: ".../block/vda/vda5" ->
 * "vda"; a whole disk (".../block/vda") is its own. Pure. */
void disk_from_sysfs_target(const char *target, char *disk, size_t size);
