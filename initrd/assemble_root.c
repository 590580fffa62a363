/* SPDX-License-Identifier: Apache-2.0 */
#include "assemble_root.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "dm_verity.h"
#include "loop.h"
#include "seed.h"
#include "util.h"

int path_printf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int mount_stack_mount(struct mount_stack *st, const char *source, const char *target, const char *fstype,
		      unsigned long flags, const char *data)
{
	if (st->n == MOUNT_STACK_MAX)
		return log_error_errno(-E2BIG, "Too many mounts");
	char *copy = strdup(target);
	if (!copy)
		return log_error_errno(-ENOMEM, "Out of memory");
	if (mount(source, target, fstype, flags, data) < 0) {
		int r = negative_errno();
		free(copy);
		return log_error_errno(r, "Failed to mount %s (%s) on %s: %m", source, fstype ? fstype : "bind",
				       target);
	}
	st->paths[st->n++] = copy;
	return 0;
}

void mount_stack_unwind(struct mount_stack *st, size_t keep)
{
	while (st->n > keep) {
		char *path = st->paths[--st->n];
		if (umount2(path, 0) < 0) {
			/* Busy: detach it now, the kernel finishes when it is free. */
			log_warning("Failed to unmount %s (%m), detaching it", path);
			if (umount2(path, MNT_DETACH) < 0)
				log_error_errno(negative_errno(), "Failed to detach %s: %m", path);
		}
		free(path);
	}
}

void mount_stack_release(struct mount_stack *st)
{
	while (st->n > 0)
		free(st->paths[--st->n]);
}

int mount_image(struct mount_stack *st, const char *image, const char *where, bool *image_fault)
{
	char devnode[64];
	*image_fault = false;
	/* Keep loop_fd open until the mount holds the device: the loop device
	 * auto-clears at its last close. */
	_cleanup_close_ int loop_fd = loop_attach_ro(image, devnode, sizeof(devnode));
	if (loop_fd < 0)
		return loop_fd;
	int r = mount_stack_mount(st, devnode, where, "squashfs", MS_RDONLY, NULL);
	if (r < 0) {
		*image_fault = r != -ENODEV; /* ENODEV: no squashfs in this kernel */
		return r;
	}
	log_info("Mounted %s (%s) read-only on %s", image, devnode, where);
	return 0;
}

/* The salt and data blocks in the image's superblock, checked against v. */
static int read_superblock(const char *image, const struct slot_verity *v, struct verity_record *rec, char *error,
			   size_t size)
{
	uint8_t buf[VERITY_SUPERBLOCK_SIZE];
	uint64_t offset = (v->hash_start_block - 1) * VERITY_BLOCK_SIZE;
	const char *why = NULL;
	_cleanup_close_ int fd = open(image, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(error, size, "image file cannot be opened: %s", strerror(errno));
		return negative_errno();
	}
	ssize_t n = pread(fd, buf, sizeof(buf), (off_t) offset);
	if (n < 0) {
		snprintf(error, size, "verity superblock cannot be read: %s", strerror(errno));
		return negative_errno();
	}
	if (verity_superblock_parse(buf, (size_t) n, offset, rec, &why) < 0) {
		snprintf(error, size, "verity superblock at block %" PRIu64 ": %s", offset / VERITY_BLOCK_SIZE, why);
		return -EBADMSG;
	}
	if (rec->data_blocks != v->data_blocks) {
		snprintf(error, size, "verity superblock says %" PRIu64 " data blocks, state.env %" PRIu64,
			 rec->data_blocks, v->data_blocks);
		return -EBADMSG;
	}
	memcpy(rec->root_hash, v->root_hash, sizeof(rec->root_hash));
	return 0;
}

int mount_image_verity(struct mount_stack *st, const char *image, const struct slot_verity *v, const char *dm_name,
		       const char *where, bool *image_fault, char *error, size_t error_size, char *table,
		       size_t table_size)
{
	struct verity_record rec;
	char devnode[64], node[PATH_MAX];
	struct stat loop_st;
	*image_fault = true;
	int r = read_superblock(image, v, &rec, error, error_size);
	if (r < 0)
		return log_error_errno(r, "%s: %s", image, error);

	/* Keep loop_fd open until dm-verity holds the loop device (auto-clear). */
	_cleanup_close_ int loop_fd = loop_attach_ro(image, devnode, sizeof(devnode));
	if (loop_fd < 0 || fstat(loop_fd, &loop_st) < 0) {
		*image_fault = false; /* no loop devices: no image would mount */
		snprintf(error, error_size, "no loop device: %s", strerror(loop_fd < 0 ? -loop_fd : errno));
		return loop_fd < 0 ? loop_fd : negative_errno();
	}
	struct dm_control dm;
	if ((r = dm_control_open(&dm)) < 0) {
		*image_fault = false; /* no device-mapper: never an unverified mount instead */
		snprintf(error, error_size, "no device-mapper for dm-verity (%s)", strerror(-r));
		return r;
	}
	dev_t dev;
	r = dm_verity_create(&dm, dm_name, &rec, loop_st.st_rdev, NULL, &dev, table, table_size);
	if (r < 0) {
		snprintf(error, error_size, "dm-verity setup failed: %s", strerror(-r));
		dm_control_close(&dm);
		return r;
	}
	if ((r = dm_make_node(dm_name, dev, node, sizeof(node))) < 0) {
		*image_fault = false;
		snprintf(error, error_size, "cannot make /dev/mapper/%s: %s", dm_name, strerror(-r));
	} else if ((r = mount_stack_mount(st, node, where, "squashfs", MS_RDONLY, NULL)) < 0) {
		*image_fault = r != -ENODEV; /* ENODEV: no squashfs in this kernel */
		/* A root hash that does not match reads as EIO right here. */
		snprintf(error, error_size, "image does not mount through dm-verity: %s",
			 r == -EIO ? "a block does not match its hash (a corrupt image, or a root hash in state.env "
				     "that is not its own)"
				   : strerror(-r));
	}
	if (r < 0) {
		(void) dm_remove(&dm, dm_name, true); /* now, or when udev's scan lets go of it */
		dm_control_close(&dm);
		return r;
	}
	/* Gone with the mount, as the loop device under it. */
	if (dm_remove(&dm, dm_name, true) < 0)
		log_warning("%s stays after its mount goes (no deferred remove in this kernel)", node);
	dm_control_close(&dm);
	log_info("Mounted %s read-only on %s through dm-verity (%s over %s)", image, where, node, devnode);
	return 0;
}

/* Make sure root+path is a directory reached without symlinks: a symlink in
 * the image could point a mount outside the new root. Missing directories
 * are created where that is possible (inside an overlay). */
static int prepare_target(const char *root, const char *path, char *target, size_t size)
{
	int r = path_printf(target, size, "%s%s", root, path);
	if (r < 0)
		return r;
	for (char *p = target + strlen(root) + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		struct stat st;
		r = 0;
		if (lstat(target, &st) < 0) {
			/* Missing: create it. EROFS means the image itself lacks it. */
			if (errno != ENOENT || mkdir(target, 0755) < 0)
				r = negative_errno();
		} else if (S_ISLNK(st.st_mode))
			r = -ELOOP;
		else if (!S_ISDIR(st.st_mode))
			r = -ENOTDIR;
		*p = saved;
		if (r < 0)
			return r;
		if (saved == '\0')
			return 0;
	}
}

static int mount_overlay(struct mount_stack *st, const char *target, const char *overlay_dir, const char *name)
{
	char upper[PATH_MAX], work[PATH_MAX], data[3 * PATH_MAX + 64];
	int r = path_printf(upper, sizeof(upper), "%s/%s/upper", overlay_dir, name);
	if (r == 0)
		r = path_printf(work, sizeof(work), "%s/%s/work", overlay_dir, name);
	if (r == 0)
		r = path_printf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s", target, upper, work);
	if (r < 0)
		return log_error_errno(r, "Overlay paths for %s are too long", target);
	if ((r = mkdir_parents(upper, 0755)) < 0)
		return r;
	if ((r = mkdir_parents(work, 0700)) < 0)
		return r;
	/* The overlay's top directory takes the upper dir's owner and mode. */
	struct stat lower;
	if (stat(target, &lower) < 0)
		return log_error_errno(negative_errno(), "Failed to stat %s: %m", target);
	if (chown(upper, lower.st_uid, lower.st_gid) < 0 || chmod(upper, lower.st_mode & 07777) < 0)
		return log_error_errno(negative_errno(), "Failed to set owner and mode of %s: %m", upper);

	/* The lower dir is the directory being covered: resolved before it is. */
	return mount_stack_mount(st, "overlay", target, "overlay", 0, data);
}

static int mount_persistent_bind(struct mount_stack *st, const char *target, const char *persistent_dir,
				 const char *name, bool *seeded)
{
	char state_dir[PATH_MAX], source[PATH_MAX];
	int r = path_printf(state_dir, sizeof(state_dir), "%s/.state", persistent_dir);
	if (r == 0)
		r = path_printf(source, sizeof(source), "%s/%s", state_dir, name);
	if (r < 0)
		return log_error_errno(r, "Persistent path for %s is too long", target);
	if ((r = mkdir_parents(state_dir, 0755)) < 0)
		return r;

	struct stat s;
	*seeded = false;
	if (lstat(source, &s) < 0) {
		if (errno != ENOENT)
			return log_error_errno(negative_errno(), "Failed to stat %s: %m", source);
		/* First use: start from what the image ships there. */
		r = seed_directory(target, source);
		if (r < 0)
			return log_error_errno(r, "Failed to seed %s from %s: %m", source, target);
		*seeded = true;
	} else if (!S_ISDIR(s.st_mode))
		return log_error_errno(-ENOTDIR, "%s is not a directory", source);

	return mount_stack_mount(st, source, target, NULL, MS_BIND, NULL);
}

int assemble_root(struct mount_stack *st, const struct mount_plan *plan, const char *newroot, const char *overlay_dir,
		  const char *persistent_dir, enum step_result *results)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct mount_step *step = &plan->steps[i];
		char target[PATH_MAX];
		results[i] = STEP_PENDING;

		int r = prepare_target(newroot, step->path, target, sizeof(target));
		if (r == -EROFS || r == -ENOENT || r == -ELOOP || r == -ENOTDIR) {
			/* The image decides its layout (e.g. /home -> var/home): boot
			 * without this mount rather than not at all. */
			log_warning("Not mounting %s on %s: %s in the image", mount_kind_to_string(step->kind),
				    step->path,
				    r == -ELOOP     ? "it goes through a symlink"
				    : r == -ENOTDIR ? "it is not a directory"
						    : "there is no such directory");
			results[i] = STEP_SKIPPED;
			continue;
		}
		if (r < 0)
			return log_error_errno(r, "Cannot mount on %s in the image: %m", step->path);

		bool seeded = false;
		if (step->kind == MOUNT_OVERLAY)
			r = mount_overlay(st, target, overlay_dir, step->name);
		else
			r = mount_persistent_bind(st, target, persistent_dir, step->name, &seeded);
		if (r < 0)
			return r;
		results[i] = seeded ? STEP_SEEDED : STEP_MOUNTED;
		log_info("%s %s%s", step->kind == MOUNT_OVERLAY ? "tmpfs overlay on" : "persistent bind on", step->path,
			 seeded ? " (seeded from the image)" : "");
	}
	return 0;
}

_Static_assert(ELEMENTSOF(((struct mount_plan *) 0)->steps) <= BOOT_RECORD_MOUNTS_MAX, "a plan fits the record");
_Static_assert(BOOT_PATH_MAX <= BOOT_RECORD_PATH_MAX, "a planned path fits the record");

void assemble_root_record(const struct mount_plan *plan, const enum step_result *results, struct boot_record *rec)
{
	rec->n_mounts = 0;
	for (size_t i = 0; i < plan->n; i++) {
		enum step_result result = results ? results[i] : STEP_PENDING;
		(void) boot_record_add_mount(rec, plan->steps[i].kind == MOUNT_BIND, plan->steps[i].path,
					     result == STEP_MOUNTED   ? BOOT_RECORD_MOUNT_MOUNTED
					     : result == STEP_SEEDED  ? BOOT_RECORD_MOUNT_SEEDED
					     : result == STEP_SKIPPED ? BOOT_RECORD_MOUNT_SKIPPED
								      : BOOT_RECORD_MOUNT_NOT_MOUNTED);
	}
}

int move_root(const char *newroot, const char *target)
{
	if (mount(newroot, target, NULL, MS_MOVE, NULL) < 0)
		return log_error_errno(negative_errno(), "Failed to move %s to %s: %m", newroot, target);
	return 0;
}
