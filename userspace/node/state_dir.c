/* SPDX-License-Identifier: Apache-2.0 */
#include "state_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cmdline.h"
#include "durable.h"
#include "find_partition.h"
#include "log.h"
#include "util.h"

/* udev has long since made the node on a running system; a little slack. */
#define RECOVERY_WAIT_MS 2000

int state_dir_open(struct state_dir *sd, const char *path, const char *recovery_path)
{
	*sd = (struct state_dir){ .lock_fd = -1 };
	struct stat st;
	if (stat(path, &st) < 0)
		return log_error_errno(negative_errno(),
				       "State directory %s: %m (is the state partition mounted? use --state-dir)",
				       path);
	if (!S_ISDIR(st.st_mode))
		return log_error_errno(-ENOTDIR, "%s is not a directory", path);

	sd->path = strdup(path);
	sd->recovery_path = strdup(recovery_path ? recovery_path : path);
	if (!sd->path || !sd->recovery_path) {
		state_dir_close(sd);
		return -ENOMEM;
	}
	return 0;
}

void state_dir_close(struct state_dir *sd)
{
	free(sd->path);
	free(sd->recovery_path);
	closep(&sd->lock_fd);
	*sd = (struct state_dir){ .lock_fd = -1 };
}

int state_dir_lock(struct state_dir *sd)
{
	return state_dir_lock_wait(sd, 0);
}

int state_dir_lock_wait(struct state_dir *sd, unsigned wait_ms)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s", sd->path, LOCK_FILE) < 0)
		return -ENOMEM;
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_error_errno(negative_errno(), "Failed to open lock %s: %m", path);
	/* Polled rather than a blocking flock() under an alarm: bounded, and
	 * nothing else of the process is disturbed. */
	for (unsigned waited = 0;; waited += LOCK_POLL_MS) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK || waited >= wait_ms)
			break;
		if (waited == 0)
			log_info("Another kairos-upgrade is changing %s: waiting up to %u s for it", sd->path,
				 wait_ms / 1000);
		(void) usleep(LOCK_POLL_MS * 1000);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return log_error_errno(negative_errno(), "Failed to lock %s: %m", path);
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return log_error_errno(
			-EBUSY, "Another kairos-upgrade (pid %s) is changing %s; wait for it to finish and retry",
			pid[0] ? pid : "unknown", sd->path);
	}
	/* The pid is only a hint for the message above; the lock is the flock. */
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t) len, 0) != len)
		log_debug("could not record our pid in %s", path);
	sd->lock_fd = TAKE_FD(fd);
	return 0;
}

char *state_dir_image_file(const struct state_dir *sd, enum boot_slot slot, const char *id, const char *ext)
{
	char *p;
	const char *dir = slot == BOOT_SLOT_RECOVERY ? sd->recovery_path : sd->path;
	return asprintf(&p, "%s/images/%s%s", dir, id, ext) < 0 ? NULL : p;
}

char *state_dir_image_path(const struct state_dir *sd, enum boot_slot slot, const char *id)
{
	return state_dir_image_file(sd, slot, id, IMAGE_EXT_SQUASHFS);
}

char *state_dir_meta_path(const struct state_dir *sd, enum boot_slot slot, const char *id)
{
	return state_dir_image_file(sd, slot, id, IMAGE_EXT_META);
}

/* slots: a bit per slot whose images live in the directory being cleaned.
 * A copy of the recovery image on the state partition (reset puts one there
 * as the new active) must go once no active or passive slot holds it, even
 * though the recovery slot names the same id. */
static bool is_referenced(const struct boot_state *s, unsigned slots, const char *id, size_t id_len)
{
	for (int i = 0; i < BOOT_SLOT_COUNT; i++)
		if ((slots & (1U << i)) && id_len == IMAGE_ID_LEN && strncmp(s->slots[i].image, id, IMAGE_ID_LEN) == 0)
			return true;
	return false;
}

static bool is_temporary(const char *name)
{
	return strncmp(name, ".tmp-", 5) == 0 || (name[0] == '.' && strstr(name, ".tmp") != NULL);
}

static bool is_image_file_ext(const char *ext)
{
	return streq(ext, IMAGE_EXT_SQUASHFS) || streq(ext, IMAGE_EXT_META) || streq(ext, IMAGE_EXT_KERNEL) ||
	       streq(ext, IMAGE_EXT_INITRD) || streq(ext, IMAGE_EXT_INDEX);
}

/* Clean one images/ directory. Only our own names are touched: temporaries,
 * and "<64 hex>" + an IMAGE_EXT_ name that no slot references. */
static int clean_images(const char *dir, unsigned slots, const struct boot_state *s, const char *keep_id)
{
	_cleanup_free_ char *images = NULL;
	if (asprintf(&images, "%s/images", dir) < 0)
		return -ENOMEM;
	DIR *d = opendir(images);
	if (!d)
		return errno == ENOENT ? 0 : log_error_errno(negative_errno(), "Failed to open %s: %m", images);

	int removed = 0, r = 0;
	for (struct dirent *e; (e = readdir(d));) {
		const char *name = e->d_name, *dot = strchr(name, '.');
		bool ours_unreferenced = dot && dot != name && is_image_file_ext(dot) &&
					 !is_referenced(s, slots, name, (size_t) (dot - name)) &&
					 !(keep_id && strncmp(name, keep_id, (size_t) (dot - name)) == 0 &&
					   strlen(keep_id) == (size_t) (dot - name));
		if (ours_unreferenced) {
			_cleanup_free_ char *id = strndup(name, (size_t) (dot - name));
			ours_unreferenced = id && image_id_is_valid(id);
		}
		if (!is_temporary(name) && !ours_unreferenced)
			continue;
		if (unlinkat(dirfd(d), name, 0) < 0) {
			r = log_error_errno(negative_errno(), "Failed to remove %s/%s: %m", images, name);
			continue;
		}
		log_info("Removed %s %s/%s", is_temporary(name) ? "leftover" : "unreferenced image", images, name);
		removed++;
	}
	closedir(d);
	if (removed > 0) {
		int q = fsync_path(images);
		if (q < 0 && r == 0)
			r = q;
	}
	return r < 0 ? r : removed;
}

int state_dir_clean(const struct state_dir *sd, const struct boot_state *s, const char *keep_id)
{
	const unsigned all = (1U << BOOT_SLOT_COUNT) - 1, recovery = 1U << BOOT_SLOT_RECOVERY;
	bool shared = streq(sd->path, sd->recovery_path);
	int a = clean_images(sd->path, shared ? all : all & ~recovery, s, keep_id);
	if (a < 0 || shared)
		return a;
	int b = clean_images(sd->recovery_path, recovery, s, keep_id);
	return b < 0 ? b : a + b;
}

int state_dir_free_bytes(const char *path, uint64_t *free_bytes)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return log_error_errno(negative_errno(), "Failed to stat the filesystem of %s: %m", path);
	*free_bytes = (uint64_t) sv.f_bavail * sv.f_frsize;
	return 0;
}

/* Is path a mount point (a different device from its parent)? */
static bool is_mount_point(const char *path)
{
	struct stat st, parent;
	_cleanup_free_ char *up = NULL;
	if (stat(path, &st) < 0 || asprintf(&up, "%s/..", path) < 0 || stat(up, &parent) < 0)
		return false;
	return st.st_dev != parent.st_dev;
}

/* The device of COS_RECOVERY (or kairos.recovery_label= from cmdline_path). */
static int recovery_device(const struct state_dir *sd, const char *cmdline_path, char **ret)
{
	_cleanup_(cmdline_free) struct cmdline c = { 0 };
	const char *label = "COS_RECOVERY";
	if (cmdline_read_file(cmdline_path, &c) == 0 && cmdline_get(&c, "kairos.recovery_label"))
		label = cmdline_get(&c, "kairos.recovery_label");
	int r = state_dir_find_partition(sd, label, RECOVERY_WAIT_MS, ret);
	if (r == -ENOENT)
		return log_error_errno(r,
				       "No partition labelled %s: is this an installed node? (or mount the recovery "
				       "partition yourself and pass --recovery-dir)",
				       label);
	return r;
}

int state_dir_mount_recovery(const struct state_dir *sd, const char *cmdline_path)
{
	/* Only the node's own default place; --recovery-dir and --state-dir are
	 * the caller's to prepare. */
	if (!streq(sd->recovery_path, RECOVERY_DIR_DEFAULT) || is_mount_point(sd->recovery_path))
		return 0;

	_cleanup_free_ char *dev = NULL;
	int r = recovery_device(sd, cmdline_path, &dev);
	if (r < 0)
		return r;
	if (mkdir(sd->recovery_path, 0755) < 0 && errno != EEXIST)
		return log_error_errno(negative_errno(), "Failed to create %s: %m", sd->recovery_path);
	if (mount(dev, sd->recovery_path, "ext4", MS_NOSUID | MS_NODEV, NULL) < 0)
		return log_error_errno(negative_errno(),
				       "Cannot mount the recovery partition %s on %s: %m (mount it yourself and pass "
				       "--recovery-dir)",
				       dev, sd->recovery_path);
	log_info("Mounted the recovery partition %s on %s", dev, sd->recovery_path);
	return 0;
}

int state_dir_read_meta(const struct state_dir *sd, enum boot_slot slot, const char *id, struct image_meta *meta)
{
	_cleanup_free_ char *path = state_dir_meta_path(sd, slot, id);
	if (!path)
		return -ENOMEM;
	int r = image_meta_read(path, meta);
	if (r != -ENOENT || slot != BOOT_SLOT_RECOVERY || !streq(sd->recovery_path, RECOVERY_DIR_DEFAULT) ||
	    is_mount_point(sd->recovery_path) || geteuid() != 0)
		return r;

	_cleanup_free_ char *dev = NULL;
	r = recovery_device(sd, "/proc/cmdline", &dev);
	if (r < 0)
		return r;
	char dir[] = "/run/kairos/.recovery-meta.XXXXXX";
	if (!mkdtemp(dir))
		return log_debug_errno(negative_errno(), "Failed to create %s: %m", dir);
	/* Read-only and noload: nothing, not even a journal replay, writes to it. */
	if (mount(dev, dir, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "noload") < 0) {
		r = log_debug_errno(negative_errno(), "Cannot mount %s read-only on %s: %m", dev, dir);
		(void) rmdir(dir);
		return r;
	}
	_cleanup_free_ char *at = NULL;
	r = asprintf(&at, "%s/images/%s.json", dir, id) < 0 ? -ENOMEM : image_meta_read(at, meta);
	(void) umount2(dir, MNT_DETACH);
	(void) rmdir(dir);
	return r;
}

int state_dir_find_partition(const struct state_dir *sd, const char *label, unsigned wait_ms, char **ret)
{
	char disk[DISK_MAX];
	(void) partition_disk_of_path(sd->path, disk, sizeof(disk)); /* "" when not on a disk: no preference */
	struct partition part;
	int r = find_partition_by_label(label, wait_ms, &(struct partition_rules){ .disks = disk }, &part);
	if (r < 0)
		return r; /* logged, the refused ones named */
	*ret = strdup(part.devnode);
	return *ret ? 0 : -ENOMEM;
}
