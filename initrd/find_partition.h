/* SPDX-License-Identifier: Apache-2.0 */
/* Find a block device by filesystem label with libblkid, without udev. */
#pragma once

#include <stddef.h>

#define DEVNODE_MAX 128
#define FSTYPE_MAX 32

struct partition {
	char devnode[DEVNODE_MAX];
	char fstype[FSTYPE_MAX];
};

/* Probe every block device the kernel lists in /proc/partitions, polling
 * until one has this label or timeout_ms passes (0: look once). Disks show
 * up late in early boot and nothing may run udev, so we poll ourselves.
 * -ENOENT when not found in time. */
int find_partition_by_label(const char *label, unsigned timeout_ms, struct partition *ret);
