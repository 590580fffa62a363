/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-boot: the initramfs helper. At every boot it finds the state
 * partition, decides the slot (lib/boot_state), spends a try when the rules
 * say so, mounts that slot's squashfs read-only, falls back to the next slot
 * when an image is missing or broken, builds the writable root around it on
 * a scratch mountpoint, moves it into place in one step and leaves a record
 * in /run/kairos/boot.json. A fatal error reboots, so the next slot gets its
 * turn; it never drops to a shell.
 *
 * Verbs: mount (a dracut hook), init (PID 1 of a minimal initramfs), decide.
 *
 * What stays mounted under /run/kairos (moved along with /run at switch root):
 *   state/            the state partition, read-write (the loop devices read
 *                     the images from it)
 *   recovery/         the recovery partition, read-only, when recovery booted
 *   rw/               a private tmpfs: overlay/NAME/{upper,work} for each
 *                     tmpfs overlay, persistent/ (the persistent partition),
 *                     newroot/ (empty: where the root was assembled)
 *   live/             the live medium (kairos.live=LABEL), read-only: the
 *                     loop device reads the image from it
 *   boot.json         the record */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <dirent.h>

#include "assemble_root.h"
#include "boot_options.h"
#include "boot_record.h"
#include "boot_state.h"
#include "cmdline.h"
#include "decide.h"
#include "durable.h"
#include "find_partition.h"
#include "log.h"
#include "mount_plan.h"
#include "pid1.h"
#include "util.h"

#define BOOT_CONF "/etc/kairos/boot.conf"
#define MODULES_LIST "/etc/kairos/modules"
#define SYSROOT "/sysroot"
/* Where the live medium (the ISO, docs/DESIGN.md) holds the image. */
#define LIVE_IMAGE "/kairos/os.squashfs"
/* The kernel adds all partitions of a disk at once: once the state partition
 * is there, recovery and persistent are too (if they exist at all), and a
 * node without persistent should not wait long on every boot. */
#define OTHER_PARTITION_WAIT_MS 300
/* Nothing on these partitions is a device node or a set-uid program of the
 * system's; nothing on state, recovery or the live medium is executed
 * (images are loop-mounted). Persistent paths (/opt, /home) may hold
 * programs: nosuid and nodev only, which its bind mounts inherit. */
#define DATA_FLAGS (MS_NOSUID | MS_NODEV)
#define NOEXEC_DATA_FLAGS (DATA_FLAGS | MS_NOEXEC)

static struct args {
	const char *verb;
	const char *cmdline;        /* file with the kernel command line */
	const char *state_dir;      /* tests: a directory instead of the state partition */
	const char *recovery_dir;   /* tests: instead of the recovery partition */
	const char *persistent_dir; /* tests: instead of the persistent partition */
	const char *live_dir;       /* tests: instead of the live medium */
	const char *node_disks;     /* tests: more whole devices (loop) that count as the state partition's disk */
	const char *root;           /* where the finished root goes */
	const char *run_dir;        /* our scratch space, normally /run/kairos */
	const char *record;         /* boot.json */
	const char *failed;         /* decide: slots that do not load, "active,recovery" */
	bool no_reboot;
	bool help;
} arg = {
	.cmdline = "/proc/cmdline",
	.run_dir = "/run/kairos",
};

/* Everything one boot touches. Static: the mount plan is large. */
static struct boot {
	struct timespec start;
	struct boot_options opts, opts_cmdline; /* opts_cmdline: before an image's boot.conf */
	struct boot_state state;
	struct boot_record rec;
	struct mount_stack mounts;
	char state_dir[PATH_MAX], recovery_dir[PATH_MAX];
	char rw_dir[PATH_MAX], newroot[PATH_MAX], overlay_dir[PATH_MAX], persistent_dir[PATH_MAX];
	bool tried[BOOT_SLOT_COUNT];
	size_t persistent_depth; /* the mount stack before the persistent partition */
	size_t slot_depth; /* the mount stack before the slot's image */
	char state_disk[256]; /* the disk of the state partition (and --node-disks): recovery and persistent only there */
	struct mount_plan plan;
	enum step_result step_results[ELEMENTSOF(((struct mount_plan *)0)->steps)];
} b;

static long long elapsed_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - b.start.tv_sec) * 1000LL + (now.tv_nsec - b.start.tv_nsec) / 1000000LL;
}

/* A fatal error: undo every mount, say why in the record, return r. */
__attribute__((format(printf, 2, 3))) static int fail(int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b.rec.error, sizeof(b.rec.error), fmt, ap);
	va_end(ap);
	log_error("%s", b.rec.error);
	mount_stack_unwind(&b.mounts, 0);
	b.rec.slot = BOOT_SLOT_NONE;
	b.rec.live = false;
	b.rec.n_mounts = 0;
	(void)boot_record_write(&b.rec, arg.record);
	return r;
}

static void read_options(void)
{
	struct cmdline c;
	boot_options_init(&b.opts);
	int r = cmdline_read_file(arg.cmdline, &c);
	if (r < 0) {
		log_error_errno(r, "Failed to read the command line from %s (%m): using defaults", arg.cmdline);
		return;
	}
	/* Bad values are logged and keep their defaults: still boot. */
	(void)boot_options_from_cmdline(&b.opts, &c);
	cmdline_free(&c);
}

/* Mount the filesystem labelled label on where. Requirements, not
 * preferences (docs/DESIGN.md, "A label on two filesystems"): the state
 * partition is the one GRUB read (kairos.state_uuid=) when GRUB says which;
 * recovery and persistent are on the state partition's disk. The live
 * medium is a removable disk by nature: any one, but only one ISO. */
static int mount_partition(const char *label, unsigned wait_ms, const char *where, unsigned long flags,
			   char *devnode, size_t size)
{
	struct partition part;
	bool is_state = streq(label, b.opts.state_label), is_live = streq(label, b.opts.live_label);
	struct partition_rules rules = {.uuid = is_state ? b.opts.state_uuid : NULL,
					.disks = is_state || is_live ? NULL : b.state_disk,
					.fstype = is_live ? "iso9660" : NULL};
	int r = find_partition_by_label(label, wait_ms, &rules, &part);
	if (r == -EXDEV || r == -ENOTUNIQ)
		boot_record_add_warning(&b.rec, "label %s: %s refused (%s)", label, part.others,
					r == -ENOTUNIQ	 ? "more than one could be ours"
					: is_state	 ? "not the filesystem GRUB read"
							 : "not on the state partition's disk");
	if (r < 0)
		return r;
	if (part.found > 1)
		boot_record_add_warning(&b.rec, "label %s is on %u filesystems: %s used, %s ignored", label, part.found,
					part.devnode, part.others);
	if ((r = mkdir_parents(where, 0755)) < 0)
		return r;
	if ((r = mount_stack_mount(&b.mounts, part.devnode, where, part.fstype, flags, NULL)) < 0)
		return r;
	if (is_state) {
		/* Unknown (no sysfs): "?" matches no disk, so nothing else is taken. */
		snprintf(b.state_disk, sizeof(b.state_disk), "%s%s%s", part.disk[0] ? part.disk : "?",
			 arg.node_disks ? " " : "", arg.node_disks ? arg.node_disks : "");
		if (!part.disk[0])
			log_error("Cannot tell which disk %s is on: no recovery or persistent partition will be used",
				  part.devnode);
	}
	if (devnode)
		snprintf(devnode, size, "%s", part.devnode);
	return 0;
}

static int open_state(void)
{
	if (arg.state_dir) {
		snprintf(b.state_dir, sizeof(b.state_dir), "%s", arg.state_dir);
		return 0;
	}
	/* Read-write: the counter is written here before the root is used.
	 * It stays mounted: the loop device reads the image from it. */
	snprintf(b.state_dir, sizeof(b.state_dir), "%s/state", arg.run_dir);
	return mount_partition(b.opts.state_label, b.opts.wait_seconds * 1000U, b.state_dir,
			       MS_NOATIME | NOEXEC_DATA_FLAGS, b.rec.state_device, sizeof(b.rec.state_device));
}

static int open_recovery(void)
{
	if (b.recovery_dir[0])
		return 0;
	if (arg.recovery_dir || arg.state_dir) {
		snprintf(b.recovery_dir, sizeof(b.recovery_dir), "%s", arg.recovery_dir ? arg.recovery_dir : arg.state_dir);
		return 0;
	}
	char where[PATH_MAX];
	snprintf(where, sizeof(where), "%s/recovery", arg.run_dir);
	int r = mount_partition(b.opts.recovery_label, OTHER_PARTITION_WAIT_MS, where, MS_RDONLY | NOEXEC_DATA_FLAGS,
				NULL, 0);
	if (r < 0)
		return r;
	snprintf(b.recovery_dir, sizeof(b.recovery_dir), "%s", where);
	return 0;
}

/* With state.env damaged or lost every slot is empty and recovery must
 * still boot: take the newest image on the recovery partition. */
static int find_recovery_image(char id[IMAGE_ID_LEN + 1])
{
	char dir[PATH_MAX];
	DIR *d = path_printf(dir, sizeof(dir), "%s/images", b.recovery_dir) == 0 ? opendir(dir) : NULL;
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
static int recovery_image_of_grub(char id[IMAGE_ID_LEN + 1])
{
	char path[PATH_MAX];
	struct stat st;
	if (b.opts.grub_slot != BOOT_SLOT_RECOVERY || !image_id_is_valid(b.opts.grub_image) ||
	    path_printf(path, sizeof(path), "%s/images/%s.squashfs", b.recovery_dir, b.opts.grub_image) < 0 ||
	    lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	memcpy(id, b.opts.grub_image, IMAGE_ID_LEN + 1);
	return 0;
}

/* Write the counter before the root is used: a root that hangs or panics
 * must already have cost its try. */
static void spend(struct boot_decision *d)
{
	if (!boot_state_apply(&b.state, d)) {
		/* GRUB cannot write a damaged counter.env, and so never counts
		 * nor tries a new active while it stays damaged: write it anew
		 * with the defaults in use, even when this boot spends nothing. */
		if (b.state.counter_damaged && boot_state_save_counter(b.state_dir, &b.state) == 0)
			log_info("Rewrote the damaged %s with defaults", BOOT_COUNTER_FILE);
		return;
	}
	b.rec.counted_by = BOOT_RECORD_COUNTED_BY_HELPER;
	if (boot_state_save_counter(b.state_dir, &b.state) == 0)
		return;
	/* A try or a one-shot choice that cannot be recorded would be taken
	 * again at every boot, forever if its kernel never gets here: boot
	 * what needs no write (grub.cfg does the same when save_env fails). */
	log_error("Cannot record the try or clear the one-shot choice: not booting an unconfirmed active "
		  "or a one-shot choice");
	b.state.tries_left = 0;
	b.state.boot_next = BOOT_SLOT_NONE;
	boot_state_fallback(&b.state, b.tried, d);
	boot_decision_describe(d, b.rec.why, sizeof(b.rec.why));
}

/* Mount the slot's image on newroot. *image_fault: the failure is the
 * image's (missing, does not mount, no init), not this system's. */
static int mount_slot(enum boot_slot slot, char *image, char *error, size_t size, bool *image_fault)
{
	*image_fault = true;
	snprintf(image, IMAGE_ID_LEN + 1, "%s", b.state.slots[slot].image);
	const char *dir = b.state_dir;
	if (slot == BOOT_SLOT_RECOVERY) {
		int r = open_recovery();
		if (r < 0) {
			snprintf(error, size, "recovery partition %s not found", b.opts.recovery_label);
			*image_fault = false;
			return r;
		}
		dir = b.recovery_dir;
		if (!image[0] && recovery_image_of_grub(image) == 0)
			log_warning("Recovery slot is empty in %s: using the image GRUB loaded the kernel from, %s",
				    BOOT_STATE_FILE, image);
		else if (!image[0] && find_recovery_image(image) == 0)
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
	size_t depth = b.mounts.n;
	r = mount_image(&b.mounts, path, b.newroot, image_fault);
	if (r < 0) {
		snprintf(error, size, "%s: %s", *image_fault ? "image does not mount" : "cannot mount images here",
			 strerror(-r));
		return r;
	}
	/* A mountable image without init would only panic the kernel. */
	char init[PATH_MAX];
	if (path_printf(init, sizeof(init), "%s%s", b.newroot, b.opts.init) < 0 || lstat(init, &st) < 0) {
		r = negative_errno();
		*image_fault = true; /* mount_image() cleared it: the image mounted */
		snprintf(error, size, "image has no %.100s", b.opts.init);
		mount_stack_unwind(&b.mounts, depth);
		return log_error_errno(r, "%s: %m", init);
	}
	return 0;
}

/* The slot d names failed (error): mark it bad, so GRUB skips it too, and
 * take the next one (boot_state_fallback: the rules without the slots that
 * failed in this boot, then the last resort). */
static int fall_back(struct boot_decision *d, const char *image, const char *error, int r)
{
	log_error("The %s slot cannot boot: %s", boot_slot_to_string(d->slot), error);
	(void)boot_record_add_failure(&b.rec, d->slot, image, error);
	b.tried[d->slot] = true;
	if (d->slot != BOOT_SLOT_RECOVERY && boot_state_mark_bad(&b.state, d->slot, error) == 0)
		(void)boot_state_save(b.state_dir, &b.state); /* logged; boot on regardless */
	boot_state_fallback(&b.state, b.tried, d);
	if (d->slot == BOOT_SLOT_NONE)
		return fail(r, "No slot can boot: every image failed (the last: %s)", error);
	spend(d);
	boot_decision_describe(d, b.rec.why, sizeof(b.rec.why));
	if (d->reason == BOOT_REASON_LAST_RESORT)
		boot_record_add_warning(&b.rec, "%s", b.rec.why);
	log_info("Falling back: %s", b.rec.why);
	return 0;
}

/* Mount the decided slot; on an image fault fall back (fall_back()). */
static int mount_first_usable_slot(struct boot_decision *d, enum boot_slot first)
{
	for (;;) {
		char image[IMAGE_ID_LEN + 1], error[160];
		bool image_fault;
		b.slot_depth = b.mounts.n;
		int r = mount_slot(d->slot, image, error, sizeof(error), &image_fault);
		if (r == 0) {
			b.rec.slot = d->slot;
			b.rec.decision = *d;
			memcpy(b.rec.image, image, sizeof(image));
			if (d->slot != first)
				b.rec.fallback_from = first;
			return 0;
		}
		/* Without loop devices or squashfs no image would mount: blaming
		 * each slot in turn would wrongly mark good images bad. */
		if (!image_fault) {
			log_error("The %s slot cannot boot: %s", boot_slot_to_string(d->slot), error);
			return fail(r, "Cannot boot any image on this system: %s", error);
		}
		if ((r = fall_back(d, image, error, r)) < 0)
			return r;
	}
}

/* /etc/kairos/boot.conf in the image may set overlay= and persistent=. */
static void read_boot_conf(void)
{
	char path[PATH_MAX], text[16385];
	size_t len = 0;
	int r = path_printf(path, sizeof(path), "%s%s", b.newroot, BOOT_CONF);
	if (r == 0)
		r = read_file_bounded(path, text, sizeof(text) - 1, &len);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warning_errno(r, "Failed to read %s from the image (%m): using the defaults", BOOT_CONF);
		return;
	}
	text[len] = '\0';
	(void)boot_options_apply_conf(&b.opts, text);
}

/* The persistent partition is optional: without it the node boots on tmpfs
 * and forgets everything at reboot. That must not go unnoticed: log it as an
 * error and put it in the record. Returns whether it is there. */
static bool open_persistent(void)
{
	b.persistent_depth = b.mounts.n;
	if (b.rec.slot == BOOT_SLOT_RECOVERY || b.opts.persistent.n == 0) {
		b.rec.persistent = BOOT_RECORD_PERSISTENT_NOT_USED;
		return false;
	}
	if (arg.persistent_dir) {
		if (path_printf(b.persistent_dir, sizeof(b.persistent_dir), "%s", arg.persistent_dir) < 0)
			return false;
		b.rec.persistent = BOOT_RECORD_PERSISTENT_MOUNTED;
		return true;
	}
	b.rec.persistent = BOOT_RECORD_PERSISTENT_MISSING;
	if (arg.state_dir) {
		snprintf(b.rec.persistent_error, sizeof(b.rec.persistent_error), "no persistent directory given");
		log_error("No persistent directory given: persistent paths are on tmpfs, and lost at reboot");
		return false;
	}
	int r = mount_partition(b.opts.persistent_label, OTHER_PARTITION_WAIT_MS, b.persistent_dir,
				MS_NOATIME | DATA_FLAGS, b.rec.persistent_device, sizeof(b.rec.persistent_device));
	if (r == -EXDEV || r == -ENOTUNIQ) {
		/* A stick labelled COS_PERSISTENT would otherwise be bound over
		 * /root, /etc/ssh and /home: root over SSH for whoever plugs it in. */
		b.rec.persistent = BOOT_RECORD_PERSISTENT_REFUSED;
		snprintf(b.rec.persistent_error, sizeof(b.rec.persistent_error), "%s %s: refused",
			 b.opts.persistent_label,
			 r == -EXDEV ? "is only on another disk than the state partition's"
				     : "is on more than one filesystem of the state partition's disk");
		log_error("REFUSED the persistent partition: %s. Persistent paths are on tmpfs, and lost at reboot",
			  b.rec.persistent_error);
		return false;
	}
	if (r < 0) {
		if (r != -ENOENT)
			b.rec.persistent = BOOT_RECORD_PERSISTENT_FAILED;
		snprintf(b.rec.persistent_error, sizeof(b.rec.persistent_error), "%s %s",
			 r == -ENOENT ? "no filesystem labelled" : "cannot mount", b.opts.persistent_label);
		log_error("No usable persistent partition (%s): persistent paths are on tmpfs, and lost at reboot",
			  b.opts.persistent_label);
		return false;
	}
	b.rec.persistent = BOOT_RECORD_PERSISTENT_MOUNTED;
	return true;
}

/* Everything we build lives on one private tmpfs: the overlays' upper
 * dirs, and the scratch mountpoint where the root is assembled. Private,
 * because a mount cannot be moved out of a shared parent. */
static int open_scratch(void)
{
	int r;
	if ((r = path_printf(b.rw_dir, sizeof(b.rw_dir), "%s/rw", arg.run_dir)) < 0 ||
	    (r = path_printf(b.newroot, sizeof(b.newroot), "%s/newroot", b.rw_dir)) < 0 ||
	    (r = path_printf(b.overlay_dir, sizeof(b.overlay_dir), "%s/overlay", b.rw_dir)) < 0 ||
	    (r = path_printf(b.persistent_dir, sizeof(b.persistent_dir), "%s/persistent", b.rw_dir)) < 0)
		return fail(r, "Run directory %s is too long", arg.run_dir);
	if ((r = mkdir_parents(b.rw_dir, 0755)) < 0 ||
	    (r = mount_stack_mount(&b.mounts, "tmpfs", b.rw_dir, "tmpfs", MS_NOSUID, "mode=0755")) < 0)
		return fail(r, "Cannot mount the scratch tmpfs on %s", b.rw_dir);
	if (mount(NULL, b.rw_dir, NULL, MS_PRIVATE, NULL) < 0)
		return fail(negative_errno(), "Cannot make %s private: %s", b.rw_dir, strerror(errno));
	if ((r = mkdir_parents(b.newroot, 0755)) < 0)
		return fail(r, "Cannot create %s", b.newroot);
	return 0;
}

static int finish_root(bool persistent);

/* Errors a damaged image gives while it is read (squashfs: EIO, EUCLEAN). */
static bool is_image_error(int r) { return r == -EIO || r == -EUCLEAN || r == -EBADMSG; }

/* The mount plan (overlays, and persistent binds when persistent) on newroot. */
static int assemble(bool persistent)
{
	int r = mount_plan_build(&b.opts, b.rec.slot, persistent, &b.plan);
	if (r < 0)
		return log_error_errno(r, "Cannot plan the mounts: %m");
	r = assemble_root(&b.mounts, &b.plan, b.newroot, b.overlay_dir, b.persistent_dir, b.step_results);
	assemble_root_record(&b.plan, b.step_results, &b.rec);
	return r;
}

/* The path of the step assemble_root() stopped at. */
static const char *failed_step(void)
{
	for (size_t i = 0; i < b.plan.n; i++)
		if (b.step_results[i] == STEP_PENDING)
			return b.plan.steps[i].path;
	return "?";
}

/* kairos.live=LABEL: the image is a file on a read-only medium (the ISO
 * that kairos-build-iso makes). No state partition, so no slots, counters
 * or confirmation; no persistent partition either: everything writable is a
 * tmpfs overlay, gone at power-off. A medium or image that does not work is
 * fatal: there is no other slot to fall back to. */
static int boot_live(void)
{
	char medium[PATH_MAX], image[PATH_MAX], device[DEVNODE_MAX] = "";
	int r;
	if (arg.live_dir)
		r = path_printf(medium, sizeof(medium), "%s", arg.live_dir);
	else
		r = path_printf(medium, sizeof(medium), "%s/live", arg.run_dir);
	if (r < 0 || (r = path_printf(image, sizeof(image), "%s%s", medium, LIVE_IMAGE)) < 0)
		return fail(r, "Run directory %s is too long", arg.run_dir);
	/* Read-only: an ISO is, and a USB stick written with it must stay intact. */
	if (!arg.live_dir &&
	    (r = mount_partition(b.opts.live_label, b.opts.wait_seconds * 1000U, medium, MS_RDONLY | NOEXEC_DATA_FLAGS, device,
				 sizeof(device))) < 0)
		return fail(r, "Live medium %s not found or not mountable", b.opts.live_label);

	if ((r = open_scratch()) < 0)
		return r;
	bool image_fault;
	if ((r = mount_image(&b.mounts, image, b.newroot, &image_fault)) < 0)
		return fail(r, "Cannot mount the live image %s: %s", image, strerror(-r));
	char init[PATH_MAX];
	struct stat st;
	if ((r = path_printf(init, sizeof(init), "%s%s", b.newroot, b.opts.init)) < 0 || lstat(init, &st) < 0)
		return fail(r < 0 ? r : negative_errno(), "The live image has no %s", b.opts.init);

	b.rec.live = true;
	/* GRUB on the medium passes the image's id (kairos.image=); nothing
	 * else names it, and the record says null without it. */
	snprintf(b.rec.image, sizeof(b.rec.image), "%s", b.opts.grub_image);
	snprintf(b.rec.why, sizeof(b.rec.why), "live: %s on %.100s (%s)", LIVE_IMAGE, device[0] ? device : medium,
		 b.opts.live_label[0] ? b.opts.live_label : "directory");
	b.rec.persistent = BOOT_RECORD_PERSISTENT_NOT_USED;
	log_info("Booting %s", b.rec.why);
	read_boot_conf();
	return finish_root(false);
}

/* The whole boot, from command line to a finished root on arg.root. */
static int boot_mount(void)
{
	int r;
	boot_record_init(&b.rec);
	if (!arg.record)
		arg.record = "/run/kairos/boot.json";

	read_options();
	if (b.opts.live_label[0] || arg.live_dir)
		return boot_live();

	if ((r = open_state()) < 0)
		return fail(r, "State partition %s not found or not mountable", b.opts.state_label);
	b.rec.start_to_state_ms = elapsed_ms();

	r = boot_state_load(b.state_dir, &b.state);
	if (r == -ENOENT)
		log_error("%s/%s is missing: booting recovery", b.state_dir, BOOT_STATE_FILE);
	else if (r < 0)
		log_error("%s/%s is damaged: booting recovery", b.state_dir, BOOT_STATE_FILE);

	struct boot_decision d;
	boot_decide(&b.state, &b.opts, &d, b.rec.why, sizeof(b.rec.why));
	b.rec.counted_by = b.opts.counted ? BOOT_RECORD_COUNTED_BY_GRUB : BOOT_RECORD_COUNTED_BY_HELPER;
	memcpy(b.rec.kernel_image, b.opts.grub_image, sizeof(b.rec.kernel_image));
	spend(&d);
	log_info("Booting %s%s", b.rec.why, b.opts.counted ? " (GRUB decided and counted)" : "");
	if (b.opts.grub_image[0] && !streq(b.opts.grub_image, b.state.slots[d.slot].image))
		log_warning("GRUB loaded the kernel of image %s, but the %s slot holds %s", b.opts.grub_image,
			    boot_slot_to_string(d.slot), b.state.slots[d.slot].image);

	if ((r = open_scratch()) < 0)
		return r;
	enum boot_slot first = d.slot;
	b.opts_cmdline = b.opts;
	for (;;) {
		if ((r = mount_first_usable_slot(&d, first)) < 0)
			return r;
		read_boot_conf();
		r = finish_root(open_persistent());
		if (!is_image_error(r))
			return r;
		/* The image failed while its root was built (EIO from squashfs
		 * under an overlay or a persistent path): its fault, like an
		 * image that does not mount. Failing the boot instead would
		 * reboot a confirmed active forever. */
		char error[160];
		snprintf(error, sizeof(error), "image failed while the root was assembled (%s: %s)", failed_step(),
			 strerror(-r));
		mount_stack_unwind(&b.mounts, b.slot_depth);
		b.rec.slot = BOOT_SLOT_NONE;
		b.rec.n_mounts = 0;
		b.rec.persistent = NULL;
		b.rec.persistent_error[0] = b.rec.persistent_device[0] = '\0';
		b.opts = b.opts_cmdline; /* the next image's boot.conf, not this one's */
		if ((r = fall_back(&d, b.rec.image, error, r)) < 0)
			return r;
	}
}

/* The image mounted on newroot becomes the root: the mount plan (overlays,
 * persistent binds), then one move onto arg.root, then the record. */
static int finish_root(bool persistent)
{
	int r = assemble(persistent);
	if (r < 0 && persistent) {
		/* A full or damaged persistent partition must not stop the boot:
		 * a confirmed image is never replaced by another slot, so failing
		 * here would reboot the node forever. */
		snprintf(b.rec.persistent_error, sizeof(b.rec.persistent_error), "%s: %s", failed_step(),
			 strerror(-r));
		log_error("Cannot use the persistent partition %s (%s): persistent paths are on tmpfs, and lost at "
			  "reboot",
			  b.opts.persistent_label, b.rec.persistent_error);
		mount_stack_unwind(&b.mounts, b.persistent_depth);
		b.rec.persistent = BOOT_RECORD_PERSISTENT_FAILED;
		b.rec.persistent_device[0] = '\0';
		r = assemble(false);
	}
	/* An image error falls back to the next slot (boot_mount()); others
	 * are not the image's fault (overlay missing from the kernel): no slot
	 * is marked bad. */
	if (r < 0 && !b.rec.live && is_image_error(r))
		return r;
	if (r < 0)
		return fail(r, "Cannot assemble the root: %s", strerror(-r));

	if ((r = move_root(b.newroot, arg.root)) < 0)
		return fail(r, "Cannot move the root to %s", arg.root);
	mount_stack_release(&b.mounts); /* in use now: never undone */
	b.rec.start_to_root_ms = elapsed_ms();

	if (b.rec.live)
		log_info("Root of the live image is on %s after %lld ms", arg.root, b.rec.start_to_root_ms);
	else
		log_info("Root of the %s slot (image %s) is on %s after %lld ms", boot_slot_to_string(b.rec.slot),
			 b.rec.image, arg.root, b.rec.start_to_root_ms);
	(void)boot_record_write(&b.rec, arg.record); /* the boot goes on without it */
	return 0;
}

static int verb_mount(void)
{
	if (!arg.root)
		return log_error_errno(-EINVAL, "mount needs --root DIR (see --help)");
	struct stat st;
	if (stat(arg.root, &st) < 0 || !S_ISDIR(st.st_mode)) /* found out now, not after all the mounting */
		return log_error_errno(-ENOTDIR, "%s is not a directory", arg.root);
	return boot_mount();
}

/* PID 1 of a minimal initramfs: nothing else has set up anything. */
static int verb_init(void)
{
	/* Mounting over /proc and /dev, or rebooting, is only ever right for
	 * the initramfs's own PID 1 (or PID 1 of a test's PID namespace). */
	if (getpid() != 1) {
		arg.no_reboot = true;
		return log_error_errno(-EPERM, "init must run as PID 1 (see --help)");
	}
	int r = pid1_mount_kernel_filesystems();
	if (r < 0)
		return r;
	int kmsg = arg.no_reboot ? -1 : open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg >= 0)
		log_set_kmsg_fd(kmsg);

	struct utsname u;
	char moddir[PATH_MAX];
	uname(&u);
	snprintf(moddir, sizeof(moddir), "/lib/modules/%s", u.release);
	if (load_modules(MODULES_LIST, moddir) > 0)
		log_warning("Some modules did not load: the boot goes on and may fail later");

	if (!arg.root)
		arg.root = SYSROOT;
	(void)mkdir(arg.root, 0755);
	if ((r = boot_mount()) < 0)
		return r;
	return switch_root(arg.root, b.opts.init);
}

static int verb_decide(void)
{
	if (!arg.state_dir)
		return log_error_errno(-EINVAL, "decide needs --state-dir DIR (see --help)");
	struct boot_state s;
	int r = boot_state_load(arg.state_dir, &s);
	if (r < 0 && r != -ENOENT)
		log_warning("boot state unusable, deciding from defaults");
	struct boot_decision d;
	boot_state_choose_slot(&s, &d);
	char why[256];
	boot_decision_describe(&d, why, sizeof(why));
	if (!arg.failed) {
		printf("%s\n", why);
		return 0;
	}
	/* --failed: what a boot does when those slots do not load, as GRUB's
	 * kairos_boot does it (tests/boot/grub-parity): the decision's
	 * counter change, then boot_state_fallback until a slot loads. */
	bool failed[BOOT_SLOT_COUNT] = {0};
	_cleanup_free_ char *list = strdup(arg.failed);
	char *save = NULL;
	for (char *w = list ? strtok_r(list, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save)) {
		enum boot_slot slot = boot_slot_from_string(w);
		if (slot == BOOT_SLOT_NONE)
			return log_error_errno(-EINVAL, "--failed: unknown slot '%s'", w);
		failed[slot] = true;
	}
	(void)boot_state_apply(&s, &d);
	bool fell = false;
	for (int n = 0; n < BOOT_SLOT_COUNT + 2 && d.slot != BOOT_SLOT_NONE && failed[d.slot]; n++) {
		boot_state_fallback(&s, failed, &d);
		(void)boot_state_apply(&s, &d);
		fell = true;
	}
	if (d.slot != BOOT_SLOT_NONE && failed[d.slot])
		d.slot = BOOT_SLOT_NONE;
	boot_decision_describe(&d, why, sizeof(why));
	printf("%s%s\n", fell && d.reason != BOOT_REASON_LAST_RESORT ? "fallback: " : "", why);
	printf("counter: kairos_tries=%u kairos_boot_next=%s\n", s.tries_left,
	       s.boot_next == BOOT_SLOT_NONE ? "" : boot_slot_to_string(s.boot_next));
	return 0;
}

static void help(void)
{
	if (arg.verb && streq(arg.verb, "mount"))
		printf("Usage: kairos-boot mount --root DIR [OPTIONS]\n"
		       "\n"
		       "Find the state partition, choose and count the slot, mount its image with\n"
		       "overlays and persistent binds, and move the finished root onto DIR\n"
		       "(a dracut mount hook runs it with --root \"$NEWROOT\"). With kairos.live=LABEL\n"
		       "on the command line, mount the image of the live medium with that label instead.\n"
		       "\n"
		       "  --root DIR, --newroot DIR  where the root goes\n"
		       "  --cmdline FILE             kernel command line (default /proc/cmdline)\n"
		       "  --record FILE              boot record (default /run/kairos/boot.json)\n"
		       "  --run-dir DIR              scratch space (default /run/kairos)\n"
		       "  --state-dir DIR            tests: use DIR instead of the state partition\n"
		       "  --recovery-dir DIR         tests: instead of the recovery partition\n"
		       "  --persistent-dir DIR       tests: instead of the persistent partition\n"
		       "  --live-dir DIR             tests: boot live from DIR instead of the live medium\n"
		       "  --node-disks \"loop3 loop4\" tests: these devices count as the state partition's disk\n"
		       "  --no-reboot                on a fatal error exit 1 instead of rebooting\n");
	else if (arg.verb && streq(arg.verb, "init"))
		printf("Usage: kairos-boot init [--cmdline FILE] [--no-reboot]   (or run as /init, PID 1)\n"
		       "\n"
		       "Mount /proc, /sys, /dev and /run, load the modules listed in\n"
		       "/etc/kairos/modules, do what `mount --root /sysroot` does, then switch to\n"
		       "the new root and execute init (init= on the command line, or /sbin/init).\n"
		       "On a fatal error it reboots. Refuses to run unless it is PID 1.\n");
	else if (arg.verb && streq(arg.verb, "decide"))
		printf("Usage: kairos-boot decide --state-dir DIR [--failed SLOT,...]\n"
		       "\n"
		       "Print which slot the next boot would use, and why, without changing anything.\n"
		       "With --failed, the slot a boot ends on when those slots do not load, and the\n"
		       "counter it leaves (tests: what grub.cfg must do).\n");
	else
		printf("Usage: kairos-boot mount|init|decide [OPTIONS]\n"
		       "\n"
		       "  mount    build the root of the chosen slot on --root DIR (dracut hook)\n"
		       "  init     be the initramfs's /init: the same, then switch root\n"
		       "  decide   print which slot the next boot would use, changing nothing\n"
		       "\n"
		       "`kairos-boot VERB --help` shows the options of a verb.\n");
}

static int parse_argv(int argc, char **argv)
{
	enum { ARG_CMDLINE = 0x100, ARG_STATE_DIR, ARG_RECOVERY_DIR, ARG_PERSISTENT_DIR, ARG_LIVE_DIR, ARG_ROOT,
	       ARG_RUN_DIR, ARG_RECORD, ARG_NO_REBOOT, ARG_NODE_DISKS, ARG_FAILED };
	static const struct option options[] = {
		{"cmdline", required_argument, NULL, ARG_CMDLINE},
		{"state-dir", required_argument, NULL, ARG_STATE_DIR},
		{"recovery-dir", required_argument, NULL, ARG_RECOVERY_DIR},
		{"persistent-dir", required_argument, NULL, ARG_PERSISTENT_DIR},
		{"live-dir", required_argument, NULL, ARG_LIVE_DIR},
		{"node-disks", required_argument, NULL, ARG_NODE_DISKS},
		{"root", required_argument, NULL, ARG_ROOT},
		{"newroot", required_argument, NULL, ARG_ROOT},
		{"run-dir", required_argument, NULL, ARG_RUN_DIR},
		{"record", required_argument, NULL, ARG_RECORD},
		{"no-reboot", no_argument, NULL, ARG_NO_REBOOT},
		{"failed", required_argument, NULL, ARG_FAILED},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case ARG_CMDLINE:
			arg.cmdline = optarg;
			break;
		case ARG_STATE_DIR:
			arg.state_dir = optarg;
			break;
		case ARG_RECOVERY_DIR:
			arg.recovery_dir = optarg;
			break;
		case ARG_PERSISTENT_DIR:
			arg.persistent_dir = optarg;
			break;
		case ARG_LIVE_DIR:
			arg.live_dir = optarg;
			break;
		case ARG_NODE_DISKS:
			arg.node_disks = optarg;
			break;
		case ARG_ROOT:
			arg.root = optarg;
			break;
		case ARG_RUN_DIR:
			arg.run_dir = optarg;
			break;
		case ARG_RECORD:
			arg.record = optarg;
			break;
		case ARG_NO_REBOOT:
			arg.no_reboot = true;
			break;
		case ARG_FAILED:
			arg.failed = optarg;
			break;
		case 'h':
			arg.help = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		arg.verb = argv[optind++];
	if (optind < argc)
		return log_error_errno(-EINVAL, "Unexpected argument %s (see --help)", argv[optind]);
	return 0;
}

int main(int argc, char **argv)
{
	clock_gettime(CLOCK_MONOTONIC, &b.start); /* the timings count from here */
	log_set_program("kairos-boot");
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	bool as_init = getpid() == 1 || (strlen(base) >= 4 && streq(base + strlen(base) - 4, "init"));

	if (parse_argv(argc, argv) < 0)
		return EXIT_FAILURE;
	if (as_init && !arg.verb)
		arg.verb = "init";
	if (arg.help) {
		help();
		return EXIT_SUCCESS;
	}

	int r;
	if (!arg.verb) {
		help();
		return EXIT_FAILURE;
	} else if (streq(arg.verb, "decide"))
		return verb_decide() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	else if (streq(arg.verb, "mount")) {
		if (!arg.no_reboot) { /* a real boot: the console shows what happened */
			int kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
			if (kmsg >= 0)
				log_set_kmsg_fd(kmsg);
		}
		r = verb_mount();
	} else if (streq(arg.verb, "init"))
		r = verb_init();
	else {
		log_error("Unknown verb %s (see --help)", arg.verb);
		return EXIT_FAILURE;
	}

	if (r < 0 && !arg.no_reboot)
		reboot_now();
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
