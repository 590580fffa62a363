/* SPDX-License-Identifier: Apache-2.0 */
/* kairos.live=LABEL: the image is a file on a read-only medium (the ISO
 * that kairos-build-iso makes). No state partition, so no slots, counters
 * or confirmation; no persistent partition either: everything writable is a
 * tmpfs overlay, gone at power-off. A medium or image that does not work is
 * fatal: there is no other slot to fall back to. The steps it shares with
 * the slot boot are boot_sequence.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "boot_sequence.h"
#include "find_partition.h"
#include "log.h"

/* Where the live medium (the ISO, docs/DESIGN.md) holds the image. */
#define LIVE_IMAGE "/kairos/os.squashfs"

int boot_live(struct boot *b)
{
	const struct boot_args *a = b->args;
	char medium[PATH_MAX], image[PATH_MAX], device[DEVNODE_MAX] = "";
	int r;
	if (a->live_dir)
		r = path_printf(medium, sizeof(medium), "%s", a->live_dir);
	else
		r = path_printf(medium, sizeof(medium), "%s/live", a->run_dir);
	if (r < 0 || (r = path_printf(image, sizeof(image), "%s%s", medium, LIVE_IMAGE)) < 0)
		return boot_fail(b, r, "Run directory %s is too long", a->run_dir);
	/* Read-only: an ISO is, and a USB stick written with it must stay intact. */
	if (!a->live_dir && (r = boot_mount_partition(b, b->opts.live_label, b->opts.wait_seconds * 1000U, medium,
						      MS_RDONLY | NOEXEC_DATA_FLAGS, device, sizeof(device))) < 0)
		return boot_fail(b, r, "Live medium %s not found or not mountable", b->opts.live_label);

	if ((r = boot_open_scratch(b)) < 0)
		return r;
	bool image_fault;
	const struct slot_verity *v = &b->opts.live_verity;
	char error[160];
	/* The medium's grub.cfg says what the image is: a record that does not
	 * parse is never "no verity". */
	if (v->state == SLOT_VERITY_DAMAGED)
		return boot_fail(b, -EBADMSG, "Cannot mount the live image %s: kairos.verity= is damaged", image);
	if (v->state == SLOT_VERITY_SET &&
	    (r = mount_image_verity(&b->mounts, image, v, "kairos-live", b->newroot, &image_fault, error, sizeof(error),
				    b->rec.verity, sizeof(b->rec.verity))) < 0)
		return boot_fail(b, r, "Cannot mount the live image %s: %s", image, error);
	if (v->state == SLOT_VERITY_NONE && (r = mount_image(&b->mounts, image, b->newroot, &image_fault)) < 0)
		return boot_fail(b, r, "Cannot mount the live image %s: %s", image, strerror(-r));
	char init[PATH_MAX];
	struct stat st;
	if ((r = path_printf(init, sizeof(init), "%s%s", b->newroot, b->opts.init)) < 0 || lstat(init, &st) < 0)
		return boot_fail(b, r < 0 ? r : negative_errno(), "The live image has no %s", b->opts.init);

	b->rec.live = true;
	/* GRUB on the medium passes the image's id (kairos.image=); nothing
	 * else names it, and the record says null without it. */
	snprintf(b->rec.image, sizeof(b->rec.image), "%s", b->opts.grub_image);
	snprintf(b->rec.why, sizeof(b->rec.why), "live: %s on %.100s (%s)", LIVE_IMAGE, device[0] ? device : medium,
		 b->opts.live_label[0] ? b->opts.live_label : "directory");
	b->rec.persistent = BOOT_RECORD_PERSISTENT_NOT_USED;
	log_info("Booting %s", b->rec.why);
	boot_read_boot_conf(b);
	return boot_finish_root(b, false);
}
