/* SPDX-License-Identifier: Apache-2.0 */
/* The boot sequence of kairos-boot: find the state partition, decide the
 * slot (lib/boot_state), spend a try when the rules say so, mount that
 * slot's squashfs read-only, fall back to the next slot when an image is
 * missing or broken, build the writable root around it on a scratch
 * mountpoint, move it into place in one step and leave a record in
 * /run/kairos/boot.json. boot_mount(), at the bottom, calls the steps in
 * order; each returns 0 or a negative errno, and what a failure costs
 * (nothing, a fallback, the boot) is handled where it is called. A fatal
 * error goes through boot_fail(): every mount undone, the record says why,
 * and the caller reboots, so the next slot gets its turn.
 *
 * What stays mounted under /run/kairos (moved along with /run at switch root):
 *   state/            the state partition, read-write (the loop devices read
 *                     the images from it)
 *   recovery/         the recovery partition, read-only, when recovery booted
 *   rw/               a private tmpfs: overlay/NAME/{upper,work} for each
 *                     tmpfs overlay, persistent/ (the persistent partition),
 *                     newroot/ (empty: where the root was assembled)
 *   live/             the live medium (kairos.live=LABEL), read-only: the
 *                     loop device reads the image from it (boot_live.c)
 *   boot.json         the record */
#include "boot_sequence.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "cmdline.h"
#include "decide.h"
#include "durable.h"
#include "find_partition.h"
#include "log.h"

#define BOOT_CONF "/etc/kairos/boot.conf"
/* The kernel adds all partitions of a disk at once: once the state partition
 * is there, recovery and persistent are too (if they exist at all), and a
 * node without persistent should not wait long on every boot. */
#define OTHER_PARTITION_WAIT_MS 300

static long long elapsed_ms(const struct boot *b)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - b->start.tv_sec) * 1000LL + (now.tv_nsec - b->start.tv_nsec) / 1000000LL;
}

int boot_fail(struct boot *b, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->rec.error, sizeof(b->rec.error), fmt, ap);
	va_end(ap);
	log_error("%s", b->rec.error);
	mount_stack_unwind(&b->mounts, 0);
	b->rec.slot = BOOT_SLOT_NONE;
	b->rec.live = false;
	b->rec.n_mounts = 0;
	(void) boot_record_write(&b->rec, b->args->record);
	return r;
}

static void read_options(struct boot *b)
{
	struct cmdline c;
	boot_options_init(&b->opts);
	int r = cmdline_read_file(b->args->cmdline, &c);
	if (r < 0) {
		log_error_errno(r, "Failed to read the command line from %s (%m): using defaults", b->args->cmdline);
		return;
	}
	/* Bad values are logged and keep their defaults: still boot. */
	(void) boot_options_from_cmdline(&b->opts, &c);
	cmdline_free(&c);
}

/* Mount the filesystem labelled label on where. Requirements, not
 * preferences (docs/DESIGN.md, "A label on two filesystems"): the state
 * partition is the one GRUB read (kairos.state_uuid=) when GRUB says which;
 * recovery and persistent are on the state partition's disk. The live
 * medium is a removable disk by nature: any one, but only one ISO. */
int boot_mount_partition(struct boot *b, const char *label, unsigned wait_ms, const char *where, unsigned long flags,
			 char *devnode, size_t size)
{
	struct partition part;
	bool is_state = streq(label, b->opts.state_label), is_live = streq(label, b->opts.live_label);
	struct partition_rules rules = { .uuid = is_state ? b->opts.state_uuid : NULL,
					 .disks = is_state || is_live ? NULL : b->state_disk,
					 .fstype = is_live ? "iso9660" : NULL };
	int r = find_partition_by_label(label, wait_ms, &rules, &part);
	if (r == -EXDEV || r == -ENOTUNIQ)
		boot_record_add_warning(&b->rec, "label %s: %s refused (%s)", label, part.others,
					r == -ENOTUNIQ ? "more than one could be ours"
					: is_state     ? "not the filesystem GRUB read"
						       : "not on the state partition's disk");
	if (r < 0)
		return r;
	if (part.found > 1)
		boot_record_add_warning(&b->rec, "label %s is on %u filesystems: %s used, %s ignored", label,
					part.found, part.devnode, part.others);
	if ((r = mkdir_parents(where, 0755)) < 0)
		return r;
	if ((r = mount_stack_mount(&b->mounts, part.devnode, where, part.fstype, flags, NULL)) < 0)
		return r;
	if (is_state) {
		/* Unknown (no sysfs): "?" matches no disk, so nothing else is taken. */
		snprintf(b->state_disk, sizeof(b->state_disk), "%s%s%s", part.disk[0] ? part.disk : "?",
			 b->args->node_disks ? " " : "", b->args->node_disks ? b->args->node_disks : "");
		if (!part.disk[0])
			log_error("Cannot tell which disk %s is on: no recovery or persistent partition will be used",
				  part.devnode);
	}
	if (devnode)
		snprintf(devnode, size, "%s", part.devnode);
	return 0;
}

static int open_state(struct boot *b)
{
	if (b->args->state_dir) {
		snprintf(b->state_dir, sizeof(b->state_dir), "%s", b->args->state_dir);
		return 0;
	}
	/* Read-write: the counter is written here before the root is used.
	 * It stays mounted: the loop device reads the image from it. */
	snprintf(b->state_dir, sizeof(b->state_dir), "%s/state", b->args->run_dir);
	return boot_mount_partition(b, b->opts.state_label, b->opts.wait_seconds * 1000U, b->state_dir,
				    MS_NOATIME | NOEXEC_DATA_FLAGS, b->rec.state_device, sizeof(b->rec.state_device));
}

/* Write the counter before the root is used: a root that hangs or panics
 * must already have cost its try. */
static void spend(struct boot *b, struct boot_decision *d)
{
	if (!boot_state_apply(&b->state, d)) {
		/* GRUB cannot write a damaged counter.env, and so never counts
		 * nor tries a new active while it stays damaged: write it anew
		 * with the defaults in use, even when this boot spends nothing. */
		if (b->state.counter_damaged && boot_state_save_counter(b->state_dir, &b->state) == 0)
			log_info("Rewrote the damaged %s with defaults", BOOT_COUNTER_FILE);
		return;
	}
	b->rec.counted_by = BOOT_RECORD_COUNTED_BY_HELPER;
	if (boot_state_save_counter(b->state_dir, &b->state) == 0)
		return;
	/* A try or a one-shot choice that cannot be recorded would be taken
	 * again at every boot, forever if its kernel never gets here: boot
	 * what needs no write (grub.cfg does the same when save_env fails). */
	log_error("Cannot record the try or clear the one-shot choice: not booting an unconfirmed active "
		  "or a one-shot choice");
	b->state.tries_left = 0;
	b->state.boot_next = BOOT_SLOT_NONE;
	boot_state_fallback(&b->state, b->tried, d);
	boot_decision_describe(d, b->rec.why, sizeof(b->rec.why));
}

/* The slot this boot takes, from state.env and what GRUB says, and its try
 * spent before the root is used. Never fails: a missing or damaged state
 * boots recovery. */
static void choose_slot(struct boot *b, struct boot_decision *d)
{
	int r = boot_state_load(b->state_dir, &b->state);
	if (r == -ENOENT)
		log_error("%s/%s is missing: booting recovery", b->state_dir, BOOT_STATE_FILE);
	else if (r < 0)
		log_error("%s/%s is damaged: booting recovery", b->state_dir, BOOT_STATE_FILE);

	boot_decide(&b->state, &b->opts, d, b->rec.why, sizeof(b->rec.why));
	b->rec.counted_by = b->opts.counted ? BOOT_RECORD_COUNTED_BY_GRUB : BOOT_RECORD_COUNTED_BY_HELPER;
	memcpy(b->rec.kernel_image, b->opts.grub_image, sizeof(b->rec.kernel_image));
	spend(b, d);
	/* Passed over for not coming up twice in a row: say so where the
	 * slots are listed (status), and keep it passed over (as passive
	 * after an upgrade too) until it is installed again. */
	if (boot_state_retire_unconfirmed(&b->state, d->slot)) {
		log_error("The active image %s: %s: marking it bad", b->state.slots[BOOT_SLOT_ACTIVE].image,
			  BOOT_UNCONFIRMED_REASON);
		(void) boot_state_save(b->state_dir, &b->state); /* logged; boot on regardless */
	}
	log_info("Booting %s%s", b->rec.why, b->opts.counted ? " (GRUB decided and counted)" : "");
	if (b->opts.grub_image[0] && !streq(b->opts.grub_image, b->state.slots[d->slot].image))
		log_warning("GRUB loaded the kernel of image %s, but the %s slot holds %s", b->opts.grub_image,
			    boot_slot_to_string(d->slot), b->state.slots[d->slot].image);
}

/* Everything we build lives on one private tmpfs: the overlays' upper
 * dirs, and the scratch mountpoint where the root is assembled. Private,
 * because a mount cannot be moved out of a shared parent. */
int boot_open_scratch(struct boot *b)
{
	int r;
	if ((r = path_printf(b->rw_dir, sizeof(b->rw_dir), "%s/rw", b->args->run_dir)) < 0 ||
	    (r = path_printf(b->newroot, sizeof(b->newroot), "%s/newroot", b->rw_dir)) < 0 ||
	    (r = path_printf(b->overlay_dir, sizeof(b->overlay_dir), "%s/overlay", b->rw_dir)) < 0 ||
	    (r = path_printf(b->persistent_dir, sizeof(b->persistent_dir), "%s/persistent", b->rw_dir)) < 0)
		return boot_fail(b, r, "Run directory %s is too long", b->args->run_dir);
	if ((r = mkdir_parents(b->rw_dir, 0755)) < 0 ||
	    (r = mount_stack_mount(&b->mounts, "tmpfs", b->rw_dir, "tmpfs", MS_NOSUID, "mode=0755")) < 0)
		return boot_fail(b, r, "Cannot mount the scratch tmpfs on %s", b->rw_dir);
	if (mount(NULL, b->rw_dir, NULL, MS_PRIVATE, NULL) < 0)
		return boot_fail(b, negative_errno(), "Cannot make %s private: %s", b->rw_dir, strerror(errno));
	if ((r = mkdir_parents(b->newroot, 0755)) < 0)
		return boot_fail(b, r, "Cannot create %s", b->newroot);
	return 0;
}

static int open_recovery(struct boot *b)
{
	const struct boot_args *a = b->args;
	if (b->recovery_dir[0])
		return 0;
	if (a->recovery_dir || a->state_dir) {
		snprintf(b->recovery_dir, sizeof(b->recovery_dir), "%s",
			 a->recovery_dir ? a->recovery_dir : a->state_dir);
		return 0;
	}
	char where[PATH_MAX];
	snprintf(where, sizeof(where), "%s/recovery", a->run_dir);
	int r = boot_mount_partition(b, b->opts.recovery_label, OTHER_PARTITION_WAIT_MS, where,
				     MS_RDONLY | NOEXEC_DATA_FLAGS, NULL, 0);
	if (r < 0)
		return r;
	snprintf(b->recovery_dir, sizeof(b->recovery_dir), "%s", where);
	return 0;
}

/* With state.env damaged or lost every slot is empty and recovery must
 * still boot: take the newest image on the recovery partition. */
static int find_recovery_image(const struct boot *b, char id[IMAGE_ID_LEN + 1])
{
	char dir[PATH_MAX];
	DIR *d = path_printf(dir, sizeof(dir), "%s/images", b->recovery_dir) == 0 ? opendir(dir) : NULL;
	if (!d)
		return -ENOENT;
	time_t newest = 0;
	id[0] = '\0';
	for (struct dirent *de; (de = readdir(d));) {
		char name[IMAGE_ID_LEN + 1];
		size_t len = strlen(de->d_name);
		if (len != IMAGE_ID_LEN + strlen(".squashfs") || !streq(de->d_name + IMAGE_ID_LEN, ".squashfs"))
			continue;
		memcpy(name, de->d_name, IMAGE_ID_LEN);
		name[IMAGE_ID_LEN] = '\0';
		struct stat st;
		if (!image_id_is_valid(name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (!id[0] || st.st_mtime > newest) {
			memcpy(id, name, sizeof(name));
			newest = st.st_mtime;
		}
	}
	closedir(d);
	return id[0] ? 0 : -ENOENT;
}

/* With state.env damaged GRUB took some image on the recovery partition
 * (the last in directory order): the root must come from the image whose
 * kernel runs, kairos.image=, when GRUB booted recovery and it is there. */
static int recovery_image_of_grub(const struct boot *b, char id[IMAGE_ID_LEN + 1])
{
	char path[PATH_MAX];
	struct stat st;
	if (b->opts.grub_slot != BOOT_SLOT_RECOVERY || !image_id_is_valid(b->opts.grub_image) ||
	    path_printf(path, sizeof(path), "%s/images/%s.squashfs", b->recovery_dir, b->opts.grub_image) < 0 ||
	    lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	memcpy(id, b->opts.grub_image, IMAGE_ID_LEN + 1);
	return 0;
}

/* Mount the slot's image on newroot. *image_fault: the failure is the
 * image's (missing, does not mount, no init), not this system's. */
static int mount_slot(struct boot *b, enum boot_slot slot, char *image, char *error, size_t size, bool *image_fault)
{
	*image_fault = true;
	snprintf(image, IMAGE_ID_LEN + 1, "%s", b->state.slots[slot].image);
	const char *dir = b->state_dir;
	if (slot == BOOT_SLOT_RECOVERY) {
		int r = open_recovery(b);
		if (r < 0) {
			snprintf(error, size, "recovery partition %s not found", b->opts.recovery_label);
			*image_fault = false;
			return r;
		}
		dir = b->recovery_dir;
		if (!image[0] && recovery_image_of_grub(b, image) == 0)
			log_warning("Recovery slot is empty in %s: using the image GRUB loaded the kernel from, %s",
				    BOOT_STATE_FILE, image);
		else if (!image[0] && find_recovery_image(b, image) == 0)
			log_warning("Recovery slot is empty in %s: using the newest image, %s", BOOT_STATE_FILE, image);
	}
	if (!image[0]) {
		snprintf(error, size, "slot has no image");
		return -ENOENT;
	}
	if (!image_id_is_valid(image)) { /* never a path from the state into a file name */
		snprintf(error, size, "image id is not 64 hex digits");
		return -EINVAL;
	}

	char path[PATH_MAX];
	int r = path_printf(path, sizeof(path), "%s/images/%s.squashfs", dir, image);
	struct stat st, part;
	if (r < 0 || lstat(path, &st) < 0) {
		snprintf(error, size, "image file is missing");
		return log_error_errno(negative_errno(), "%s: %m", path);
	}
	/* A symlink (of the file, or of images/) could lead anywhere, to
	 * another node's disk too: only a file on this partition is ours. */
	if (!S_ISREG(st.st_mode) || stat(dir, &part) < 0 || st.st_dev != part.st_dev) {
		snprintf(error, size, "image file is %s",
			 S_ISLNK(st.st_mode)   ? "a symlink"
			 : S_ISREG(st.st_mode) ? "not on its partition"
					       : "not a regular file");
		return log_error_errno(-EPERM, "%s: %s: refusing it", path, error);
	}
	size_t depth = b->mounts.n;
	const struct slot_verity *v = &b->state.slots[slot].verity;
	b->rec.verity[0] = '\0';
	if (v->state == SLOT_VERITY_DAMAGED) {
		/* Never "no verity" instead: the record is what says the image is ours. */
		snprintf(error, size, "verity record in state.env is damaged");
		return log_error_errno(-EBADMSG, "%s: %s", path, error);
	}
	if (v->state == SLOT_VERITY_SET) {
		char name[64];
		snprintf(name, sizeof(name), "kairos-%s", boot_slot_to_string(slot));
		r = mount_image_verity(&b->mounts, path, v, name, b->newroot, image_fault, error, size, b->rec.verity,
				       sizeof(b->rec.verity));
		if (r < 0)
			return r;
	} else if ((r = mount_image(&b->mounts, path, b->newroot, image_fault)) < 0) {
		snprintf(error, size, "%s: %s", *image_fault ? "image does not mount" : "cannot mount images here",
			 strerror(-r));
		return r;
	}
	/* A mountable image without init would only panic the kernel. */
	char init[PATH_MAX];
	if (path_printf(init, sizeof(init), "%s%s", b->newroot, b->opts.init) < 0 || lstat(init, &st) < 0) {
		r = negative_errno();
		*image_fault = true; /* mount_image() cleared it: the image mounted */
		snprintf(error, size, "image has no %.100s", b->opts.init);
		mount_stack_unwind(&b->mounts, depth);
		return log_error_errno(r, "%s: %m", init);
	}
	return 0;
}

/* The slot d names failed (error): mark it bad, so GRUB skips it too, and
 * take the next one (boot_state_fallback: the rules without the slots that
 * failed in this boot, then the last resort). */
static int fall_back(struct boot *b, struct boot_decision *d, const char *image, const char *error, int r)
{
	log_error("The %s slot cannot boot: %s", boot_slot_to_string(d->slot), error);
	(void) boot_record_add_failure(&b->rec, d->slot, image, error);
	b->tried[d->slot] = true;
	if (d->slot != BOOT_SLOT_RECOVERY && boot_state_mark_bad(&b->state, d->slot, error) == 0)
		(void) boot_state_save(b->state_dir, &b->state); /* logged; boot on regardless */
	boot_state_fallback(&b->state, b->tried, d);
	if (d->slot == BOOT_SLOT_NONE)
		return boot_fail(b, r, "No slot can boot: every image failed (the last: %s)", error);
	spend(b, d);
	boot_decision_describe(d, b->rec.why, sizeof(b->rec.why));
	if (d->reason == BOOT_REASON_LAST_RESORT)
		boot_record_add_warning(&b->rec, "%s", b->rec.why);
	log_info("Falling back: %s", b->rec.why);
	return 0;
}

/* Mount the decided slot; on an image fault fall back (fall_back()). */
static int mount_first_usable_slot(struct boot *b, struct boot_decision *d, enum boot_slot first)
{
	for (;;) {
		char image[IMAGE_ID_LEN + 1], error[160];
		bool image_fault;
		b->slot_depth = b->mounts.n;
		int r = mount_slot(b, d->slot, image, error, sizeof(error), &image_fault);
		if (r == 0) {
			b->rec.slot = d->slot;
			b->rec.decision = *d;
			memcpy(b->rec.image, image, sizeof(image));
			if (d->slot != first)
				b->rec.fallback_from = first;
			return 0;
		}
		/* Without loop devices or squashfs no image would mount: blaming
		 * each slot in turn would wrongly mark good images bad. */
		if (!image_fault) {
			log_error("The %s slot cannot boot: %s", boot_slot_to_string(d->slot), error);
			return boot_fail(b, r, "Cannot boot any image on this system: %s", error);
		}
		if ((r = fall_back(b, d, image, error, r)) < 0)
			return r;
	}
}

/* /etc/kairos/boot.conf in the image may set overlay= and persistent=. */
void boot_read_boot_conf(struct boot *b)
{
	char path[PATH_MAX], text[16385];
	size_t len = 0;
	int r = path_printf(path, sizeof(path), "%s%s", b->newroot, BOOT_CONF);
	if (r == 0)
		r = read_file_bounded(path, text, sizeof(text) - 1, &len);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warning_errno(r, "Failed to read %s from the image (%m): using the defaults", BOOT_CONF);
		return;
	}
	text[len] = '\0';
	(void) boot_options_apply_conf(&b->opts, text);
}

/* The persistent partition is optional: without it the node boots on tmpfs
 * and forgets everything at reboot. That must not go unnoticed: log it as an
 * error and put it in the record. Returns whether it is there. */
static bool open_persistent(struct boot *b)
{
	b->persistent_depth = b->mounts.n;
	if (b->rec.slot == BOOT_SLOT_RECOVERY || b->opts.persistent.n == 0) {
		b->rec.persistent = BOOT_RECORD_PERSISTENT_NOT_USED;
		return false;
	}
	if (b->args->persistent_dir) {
		if (path_printf(b->persistent_dir, sizeof(b->persistent_dir), "%s", b->args->persistent_dir) < 0)
			return false;
		b->rec.persistent = BOOT_RECORD_PERSISTENT_MOUNTED;
		return true;
	}
	b->rec.persistent = BOOT_RECORD_PERSISTENT_MISSING;
	if (b->args->state_dir) {
		snprintf(b->rec.persistent_error, sizeof(b->rec.persistent_error), "no persistent directory given");
		log_error("No persistent directory given: persistent paths are on tmpfs, and lost at reboot");
		return false;
	}
	int r = boot_mount_partition(b, b->opts.persistent_label, OTHER_PARTITION_WAIT_MS, b->persistent_dir,
				     MS_NOATIME | DATA_FLAGS, b->rec.persistent_device,
				     sizeof(b->rec.persistent_device));
	if (r == -EXDEV || r == -ENOTUNIQ) {
		/* A stick labelled COS_PERSISTENT would otherwise be bound over
		 * /root, /etc/ssh and /home: root over SSH for whoever plugs it in. */
		b->rec.persistent = BOOT_RECORD_PERSISTENT_REFUSED;
		snprintf(b->rec.persistent_error, sizeof(b->rec.persistent_error), "%s %s: refused",
			 b->opts.persistent_label,
			 r == -EXDEV ? "is only on another disk than the state partition's"
				     : "is on more than one filesystem of the state partition's disk");
		log_error("REFUSED the persistent partition: %s. Persistent paths are on tmpfs, and lost at reboot",
			  b->rec.persistent_error);
		return false;
	}
	if (r < 0) {
		if (r != -ENOENT)
			b->rec.persistent = BOOT_RECORD_PERSISTENT_FAILED;
		snprintf(b->rec.persistent_error, sizeof(b->rec.persistent_error), "%s %s",
			 r == -ENOENT ? "no filesystem labelled" : "cannot mount", b->opts.persistent_label);
		log_error("No usable persistent partition (%s): persistent paths are on tmpfs, and lost at reboot",
			  b->opts.persistent_label);
		return false;
	}
	b->rec.persistent = BOOT_RECORD_PERSISTENT_MOUNTED;
	return true;
}

/* Errors a damaged image gives while it is read (squashfs: EIO, EUCLEAN). */
static bool is_image_error(int r)
{
	return r == -EIO || r == -EUCLEAN || r == -EBADMSG;
}

/* The mount plan (overlays, and persistent binds when persistent) on newroot. */
static int assemble(struct boot *b, bool persistent)
{
	int r = mount_plan_build(&b->opts, b->rec.slot, persistent, &b->plan);
	if (r < 0)
		return log_error_errno(r, "Cannot plan the mounts: %m");
	r = assemble_root(&b->mounts, &b->plan, b->newroot, b->overlay_dir, b->persistent_dir, b->step_results);
	assemble_root_record(&b->plan, b->step_results, &b->rec);
	return r;
}

/* The path of the step assemble_root() stopped at. */
static const char *failed_step(const struct boot *b)
{
	for (size_t i = 0; i < b->plan.n; i++)
		if (b->step_results[i] == STEP_PENDING)
			return b->plan.steps[i].path;
	return "?";
}

/* The image mounted on newroot becomes the root: the mount plan (overlays,
 * persistent binds), then one move onto args->root, then the record. */
int boot_finish_root(struct boot *b, bool persistent)
{
	int r = assemble(b, persistent);
	if (r < 0 && persistent) {
		/* A full or damaged persistent partition must not stop the boot:
		 * a confirmed image is never replaced by another slot, so failing
		 * here would reboot the node forever. */
		snprintf(b->rec.persistent_error, sizeof(b->rec.persistent_error), "%s: %s", failed_step(b),
			 strerror(-r));
		log_error("Cannot use the persistent partition %s (%s): persistent paths are on tmpfs, and lost at "
			  "reboot",
			  b->opts.persistent_label, b->rec.persistent_error);
		mount_stack_unwind(&b->mounts, b->persistent_depth);
		b->rec.persistent = BOOT_RECORD_PERSISTENT_FAILED;
		b->rec.persistent_device[0] = '\0';
		r = assemble(b, false);
	}
	/* An image error falls back to the next slot (boot_mount()); others
	 * are not the image's fault (overlay missing from the kernel): no slot
	 * is marked bad. */
	if (r < 0 && !b->rec.live && is_image_error(r))
		return r;
	if (r < 0)
		return boot_fail(b, r, "Cannot assemble the root: %s", strerror(-r));

	if ((r = move_root(b->newroot, b->args->root)) < 0)
		return boot_fail(b, r, "Cannot move the root to %s", b->args->root);
	mount_stack_release(&b->mounts); /* in use now: never undone */
	b->rec.start_to_root_ms = elapsed_ms(b);

	if (b->rec.live)
		log_info("Root of the live image is on %s after %lld ms", b->args->root, b->rec.start_to_root_ms);
	else
		log_info("Root of the %s slot (image %s) is on %s after %lld ms", boot_slot_to_string(b->rec.slot),
			 b->rec.image, b->args->root, b->rec.start_to_root_ms);
	(void) boot_record_write(&b->rec, b->args->record); /* the boot goes on without it */
	return 0;
}

/* The slot's image failed while its root was built (EIO from squashfs under
 * an overlay or a persistent path): its fault, like an image that does not
 * mount. Failing the boot instead would reboot a confirmed active forever.
 * Undo its root and take the next slot (fall_back()). */
static int drop_failed_root(struct boot *b, struct boot_decision *d, int r)
{
	char error[160];
	snprintf(error, sizeof(error), "image failed while the root was assembled (%s: %s)", failed_step(b),
		 strerror(-r));
	mount_stack_unwind(&b->mounts, b->slot_depth);
	b->rec.slot = BOOT_SLOT_NONE;
	b->rec.n_mounts = 0;
	b->rec.persistent = NULL;
	b->rec.persistent_error[0] = b->rec.persistent_device[0] = '\0';
	b->opts = b->opts_cmdline; /* the next image's boot.conf, not this one's */
	return fall_back(b, d, b->rec.image, error, r);
}

int boot_mount(struct boot *b)
{
	int r;
	boot_record_init(&b->rec);

	/* The kernel command line: bad values keep their defaults, the boot
	 * goes on. */
	read_options(b);

	/* kairos.live=: no state partition, no slots (boot_live.c). */
	if (b->opts.live_label[0] || b->args->live_dir)
		return boot_live(b);

	/* The state partition: without it there is nothing to boot. */
	if ((r = open_state(b)) < 0)
		return boot_fail(b, r, "State partition %s not found or not mountable", b->opts.state_label);
	b->rec.start_to_state_ms = elapsed_ms(b);

	/* The slot, its try spent; cannot fail. */
	struct boot_decision d;
	choose_slot(b, &d);

	/* The scratch tmpfs the root is built on: fatal, recorded by it. */
	if ((r = boot_open_scratch(b)) < 0)
		return r;

	/* The first slot whose image mounts (a fallback for each that does not;
	 * fatal, recorded, when none does), its boot.conf, the persistent
	 * partition (optional), the root moved into place. An image that fails
	 * while its root is built falls back too. */
	enum boot_slot first = d.slot;
	b->opts_cmdline = b->opts;
	for (;;) {
		if ((r = mount_first_usable_slot(b, &d, first)) < 0)
			return r;
		boot_read_boot_conf(b);
		r = boot_finish_root(b, open_persistent(b));
		if (!is_image_error(r))
			return r;
		if ((r = drop_failed_root(b, &d, r)) < 0)
			return r;
	}
}
