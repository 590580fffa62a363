/* SPDX-License-Identifier: Apache-2.0 */
/* A read-only dm-verity device over a loop device, set up with raw
 * device-mapper ioctls on /dev/mapper/control (the contract is the kernel's
 * <linux/dm-ioctl.h>; no libdevmapper or libcryptsetup: kairos-boot is
 * static). One target, the whole data area:
 *   0 DATA_BLOCKS*8 verity 1 DEV DEV 4096 4096 DATA_BLOCKS HASH_START_BLOCK sha256 ROOT SALT [N OPT...]
 * DEV is the loop device as MAJOR:MINOR (data and tree in the one image
 * file, the tree after the data: docs/DESIGN.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "verity_record.h"

struct dm_ioctl;

/* The ioctl, injectable: tests record each request's bytes. Returns 0 or a
 * negative errno; io is the whole request buffer (io->data_size bytes). */
typedef int (*dm_ioctl_fn)(void *userdata, unsigned long request, struct dm_ioctl *io);

struct dm_control {
	dm_ioctl_fn call;
	void *userdata;
	int fd; /* dm_control_open()'s; -1 otherwise */
};

#define DM_CONTROL_PATH "/dev/mapper/control"
/* Room for the table line: 6 numbers, two device numbers, root and salt
 * (512 hex at most), a few optional arguments. */
#define DM_VERITY_TABLE_MAX 1024

/* Open /dev/mapper/control (made, 10:236, when the kernel has device-mapper
 * but no node was created), with the real ioctl. -ENOENT, -ENODEV, -ENXIO:
 * this kernel has no device-mapper (not the image's fault). */
int dm_control_open(struct dm_control *c);
void dm_control_close(struct dm_control *c);

/* The target's parameters ("1 DEV DEV 4096 ... SALT [N OPT...]") of rec over
 * dev; opt_args NULL-terminated or NULL. -ENAMETOOLONG: does not fit size. */
int dm_verity_params(const struct verity_record *rec, dev_t dev, const char *const *opt_args, char *buf, size_t size);

/* Create device name with the verity table of rec over data_dev, read-only,
 * and resume it (DM_DEV_CREATE, DM_TABLE_LOAD, DM_DEV_SUSPEND without
 * DM_SUSPEND_FLAG). On any failure after the create the device is removed
 * (DM_DEV_REMOVE, deferred: at once unless something holds it open, then
 * at its last close): never half a device. *ret_dev: its device number;
 * table (DM_VERITY_TABLE_MAX + 32, may be NULL): the whole table line, for
 * the record. Logs what failed. */
int dm_verity_create(const struct dm_control *c, const char *name, const struct verity_record *rec, dev_t data_dev,
		     const char *const *opt_args, dev_t *ret_dev, char *table, size_t table_size);

/* DM_DEV_REMOVE name; deferred: at once when nothing holds it open, else
 * when its last user (the mount) goes, as a loop device's auto-clear
 * (kernel 3.13+, ioctl 4.27). */
int dm_remove(const struct dm_control *c, const char *name, bool deferred);

/* /dev/mapper/NAME for dev: the node made when missing (no udev yet), or
 * the one there when it is dev already. */
int dm_make_node(const char *name, dev_t dev, char *path, size_t size);
