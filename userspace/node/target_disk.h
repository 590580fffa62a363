/* SPDX-License-Identifier: Apache-2.0 */
/* The target of write-disk (kairos-install, kairos-build-iso): whether it
 * may be erased, and the write that erases it.
 *
 * A target is a regular file (or a new path outside /dev), or a whole disk.
 * "In use" is what the kernel says, in every mount namespace: an O_EXCL open
 * of the disk (held until the write is done: no one can mount, swapon or
 * claim it or its partitions meanwhile) and of each partition, no holders in
 * sysfs (LVM, md, dm-crypt, bcache), and a partition-table re-read, which
 * fails with EBUSY while any partition is open. findmnt and /proc/swaps only
 * see our own namespace.
 *
 * The write: both ends zeroed first (old GPT, MBR, md and ZFS labels), then
 * everything but the first MiB, holes zeroed on the disk (no stale bytes
 * under a filesystem that believes them zero), fsync, then the first MiB
 * (protective MBR, primary GPT), fsync. Until that last write the disk has no
 * partition table: an interrupted install never looks like a node. */
#pragma once

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DISK_SERIAL_SIZE 128
/* What disk_identity() writes, MAJOR:MINOR:SERIAL:BYTES, fits in this. */
#define DISK_IDENTITY_SIZE (64 + DISK_SERIAL_SIZE)

/* What the kernel says about a block device, from /sys/dev/block/M:m. */
struct disk {
	char path[PATH_MAX];
	char sys[PATH_MAX];
	dev_t devnum;
	uint64_t size;
	int fd; /* O_EXCL, held until the write is done */
};
#define DISK_INIT        \
	{                \
		.fd = -1 \
	}
/* Closes the held disk; a cleanup: _cleanup_(disk_closep). */
void disk_closep(struct disk *d);

/* Resolve TARGET: 0 and a disk held in d (whole, not in use, open O_EXCL),
 * 1 for a file target, or a refusal (logged) that says what TARGET is. */
int target_disk_open(const char *target, struct disk *d);

/* Model, serial, size and what is on it now, on stderr. */
void disk_describe(const struct disk *d);

/* MAJOR:MINOR:SERIAL:BYTES into buf (DISK_IDENTITY_SIZE). */
void disk_identity(const struct disk *d, char *buf, size_t size);

/* Write the disk image file onto the held disk, its partition table last. */
int disk_write_image(struct disk *d, const char *image);
