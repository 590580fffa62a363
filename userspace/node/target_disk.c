/* SPDX-License-Identifier: Apache-2.0 */
#include "target_disk.h"

#include <blkid/blkid.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)
#define CHUNK (4 * MIB)
#define FOUND_SIZE 1024 /* what disk_describe lists */

static void closedirp_(DIR **d)
{
	if (*d)
		closedir(*d);
}

void disk_closep(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* DIR/NAME into buf; false when it does not fit (never a cut path). */
static bool join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);
	return n >= 0 && (size_t) n < size;
}

/* Printable ASCII only: model and serial strings come from the device. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char) *s))
			*s = '?';
}

/* The first line of DIR/FILE, stripped and sanitized; "" when absent. */
static void sysfs_read(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	size_t len = 0;
	buf[0] = '\0';
	if (!join(path, sizeof(path), dir, file) || read_file_bounded(path, buf, size - 1, &len) < 0)
		len = 0;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	char *s = strip_blanks(buf);
	memmove(buf, s, strlen(s) + 1);
	sanitize(buf);
}

static bool sysfs_has(const char *dir, const char *file)
{
	char path[PATH_MAX];
	return join(path, sizeof(path), dir, file) && access(path, F_OK) == 0;
}

static bool path_under_dev(const char *path)
{
	return strncmp(path, "/dev/", 5) == 0 || streq(path, "/dev");
}

/* Names in DIR/holders, comma-separated; "" when none. */
static void holders_of(const char *sys, char *buf, size_t size)
{
	char path[PATH_MAX];
	buf[0] = '\0';
	DIR *d = join(path, sizeof(path), sys, "holders") ? opendir(path) : NULL;
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			size_t len = strlen(buf);
			snprintf(buf + len, size - len, "%s%s", len ? "," : "", e->d_name);
		}
	closedir(d);
	sanitize(buf);
}

/* A whole disk we may erase, or a refusal that says what TARGET is instead. */
static int disk_classify(const char *target, const struct stat *st, struct disk *d)
{
	d->devnum = st->st_rdev;
	snprintf(d->path, sizeof(d->path), "%s", target);
	char link[64], real[PATH_MAX];
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(d->devnum), minor(d->devnum));
	if (!realpath(link, real))
		return log_error_errno(-ENODEV, "%s: the kernel has no block device %u:%u (unplugged?)", target,
				       major(d->devnum), minor(d->devnum));
	snprintf(d->sys, sizeof(d->sys), "%s", real);

	if (sysfs_has(d->sys, "partition")) {
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", d->sys);
		char *slash = strrchr(parent, '/');
		if (slash)
			*slash = '\0';
		slash = strrchr(parent, '/');
		return log_error_errno(-EINVAL,
				       "%s is a partition (of /dev/%s): give the whole disk, /dev/%s (all of it is "
				       "erased)",
				       target, slash ? slash + 1 : parent, slash ? slash + 1 : parent);
	}
	if (sysfs_has(d->sys, "dm"))
		return log_error_errno(
			-EINVAL, "%s is a device-mapper device (LVM, dm-crypt, multipath): give a whole disk", target);
	if (sysfs_has(d->sys, "md"))
		return log_error_errno(-EINVAL, "%s is a software RAID (md) device: give a whole disk", target);
	char value[64];
	sysfs_read(d->sys, "device/type", value, sizeof(value));
	if (streq(value, "5"))
		return log_error_errno(-EINVAL, "%s is a CD/DVD drive: give a whole disk", target);
	sysfs_read(d->sys, "ro", value, sizeof(value));
	if (streq(value, "1"))
		return log_error_errno(-EROFS, "%s is read-only", target);
	sysfs_read(d->sys, "size", value, sizeof(value));
	d->size = strtoull(value, NULL, 10) * 512;
	if (d->size == 0)
		return log_error_errno(-ENOMEDIUM, "%s has no medium (size 0)", target);
	/* The GPT, boot.img's pointer to core.img and the ISO's hybrid MBR are
	 * all made for 512-byte sectors: on a 4Kn disk they would be garbage. */
	sysfs_read(d->sys, "queue/logical_block_size", value, sizeof(value));
	if (!streq(value, "512"))
		return log_error_errno(-EOPNOTSUPP,
				       "%s has %s-byte logical sectors: only 512-byte sectors are supported (a 4Kn "
				       "disk gets no valid GPT from this installer)",
				       target, value);
	return 0;
}

/* One partition of a disk, as sysfs lists it (not as the table says). */
struct partition {
	const char *name; /* sda1 */
	char sys[PATH_MAX];
	char node[PATH_MAX]; /* /dev/sda1 */
	int number;
};

/* Calls f for each partition of d; stops at the first error f returns. */
static int for_each_partition(const struct disk *d, int (*f)(const struct disk *, const struct partition *, void *),
			      void *userdata)
{
	_cleanup_(closedirp_) DIR *dir = opendir(d->sys);
	if (!dir)
		return log_error_errno(negative_errno(), "%s: %m", d->sys);
	struct dirent *e;
	while ((e = readdir(dir))) {
		struct partition p = { .name = e->d_name };
		char number[16];
		if (e->d_name[0] == '.' || !join(p.sys, sizeof(p.sys), d->sys, e->d_name) ||
		    !sysfs_has(p.sys, "partition") || !join(p.node, sizeof(p.node), "/dev", e->d_name))
			continue;
		sysfs_read(p.sys, "partition", number, sizeof(number));
		p.number = (int) strtol(number, NULL, 10);
		int r = f(d, &p, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Holders, and an O_EXCL open just to see whether anyone claims it. */
static int check_partition(const struct disk *d, const struct partition *p, void *userdata)
{
	(void) userdata;
	char holders[256], dev[32], node_dev[32];
	struct stat st;
	holders_of(p->sys, holders, sizeof(holders));
	if (holders[0])
		return log_error_errno(-EBUSY, "%s: its partition %s is in use by %s (LVM, md, dm-crypt?)", d->path,
				       p->name, holders);
	sysfs_read(p->sys, "dev", dev, sizeof(dev));
	/* Without a node (a container's /dev) the whole disk's claim and the
	 * re-read still see a partition in use. */
	if (stat(p->node, &st) < 0 || !S_ISBLK(st.st_mode))
		return 0;
	snprintf(node_dev, sizeof(node_dev), "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	if (!streq(dev, node_dev))
		return 0;
	int fd = open(p->node, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(negative_errno(),
				       "%s: its partition %s is in use (mounted, swap, or claimed, maybe in another "
				       "mount namespace): %m",
				       d->path, p->node);
	close(fd);
	return 0;
}

/* Where the kernel does not scan partitions (a loop device without
 * partscan), BLKRRPART says EINVAL; deleting a partition from the kernel's
 * view fails with EBUSY while it is open, which is what we want to know. */
static int delete_partition(const struct disk *d, const struct partition *p, void *userdata)
{
	(void) userdata;
	struct blkpg_partition part = { .pno = p->number };
	struct blkpg_ioctl_arg arg = { .op = BLKPG_DEL_PARTITION, .datalen = sizeof(part), .data = &part };
	if (ioctl(d->fd, BLKPG, &arg) < 0 && errno != ENXIO)
		return log_error_errno(negative_errno(),
				       "%s: its partition %s is open (mounted, or used by a program, maybe in "
				       "another mount namespace): %m",
				       d->path, p->node);
	return 0;
}

/* Check that nothing uses the disk, and open it O_EXCL (kept in d->fd). */
static int disk_hold(struct disk *d)
{
	/* The partitions first, to name the one in use: once we hold the disk
	 * the kernel refuses anyone a partition, and us too. */
	int r = for_each_partition(d, check_partition, NULL);
	if (r < 0)
		return r;
	/* Claiming the whole disk fails while any partition is claimed. */
	d->fd = open(d->path, O_RDWR | O_EXCL | O_CLOEXEC);
	if (d->fd < 0)
		return log_error_errno(negative_errno(),
				       "%s is in use (mounted, swap, or claimed by LVM, md or another program, "
				       "maybe in another mount namespace): %m",
				       d->path);
	struct stat st;
	if (fstat(d->fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != d->devnum)
		return log_error_errno(-ENODEV, "%s changed while it was opened", d->path);
	char holders[256];
	holders_of(d->sys, holders, sizeof(holders));
	if (holders[0])
		return log_error_errno(-EBUSY, "%s is in use by %s (LVM, md, dm-crypt?)", d->path, holders);
	/* The kernel refuses to re-read the table while any partition is open,
	 * by anyone, exclusively or not. */
	if (ioctl(d->fd, BLKRRPART) == 0)
		return 0;
	if (errno == EINVAL)
		return for_each_partition(d, delete_partition, NULL);
	return log_error_errno(negative_errno(),
			       "%s: a partition of it is open (mounted, or used by a program, maybe in another mount "
			       "namespace): %m",
			       d->path);
}

static void human_size(uint64_t bytes, char *buf, size_t size)
{
	snprintf(buf, size, "%.1f GiB", (double) bytes / (double) (MIB * 1024));
}

/* "gpt partition table; sdb1: ext4 "data"" from blkid, best effort. */
static void describe_probe(const char *node, const char *prefix, char *buf, size_t size)
{
	blkid_probe pr = blkid_new_probe_from_filename(node);
	if (!pr)
		return;
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_TYPE);
	const char *pttype = NULL, *type = NULL, *label = NULL;
	if (blkid_do_safeprobe(pr) == 0) {
		(void) blkid_probe_lookup_value(pr, "PTTYPE", &pttype, NULL);
		(void) blkid_probe_lookup_value(pr, "TYPE", &type, NULL);
		(void) blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
	}
	char item[256] = "";
	if (pttype)
		snprintf(item, sizeof(item), "%s%s partition table", prefix, pttype);
	else if (type)
		snprintf(item, sizeof(item), "%s%s%s%s%s", prefix, type, label ? " \"" : "", label ? label : "",
			 label ? "\"" : "");
	blkid_free_probe(pr);
	sanitize(item);
	size_t len = strlen(buf);
	if (item[0])
		snprintf(buf + len, size - len, "%s%s", len ? "; " : "", item);
}

static int describe_partition(const struct disk *d, const struct partition *p, void *found)
{
	(void) d;
	char prefix[NAME_MAX + 4];
	snprintf(prefix, sizeof(prefix), "%s: ", p->name);
	describe_probe(p->node, prefix, found, FOUND_SIZE);
	return 0;
}

/* NVMe and SCSI, virtio, or the WWID; "" when the device has none. */
static void disk_serial(const struct disk *d, char serial[DISK_SERIAL_SIZE])
{
	sysfs_read(d->sys, "device/serial", serial, DISK_SERIAL_SIZE);
	if (!serial[0])
		sysfs_read(d->sys, "serial", serial, DISK_SERIAL_SIZE);
	if (!serial[0])
		sysfs_read(d->sys, "device/wwid", serial, DISK_SERIAL_SIZE);
}

void disk_describe(const struct disk *d)
{
	char model[128], serial[DISK_SERIAL_SIZE], backing[PATH_MAX], size[32], found[FOUND_SIZE] = "";
	sysfs_read(d->sys, "device/model", model, sizeof(model));
	disk_serial(d, serial);
	sysfs_read(d->sys, "loop/backing_file", backing, sizeof(backing));
	human_size(d->size, size, sizeof(size));
	describe_probe(d->path, "", found, sizeof(found));
	(void) for_each_partition(d, describe_partition, found);
	fprintf(stderr, "%s: %s%s, serial %s, %s (%" PRIu64 " bytes)\n", d->path,
		model[0]     ? model
		: backing[0] ? "loop device of "
			     : "model unknown",
		model[0] ? "" : backing, serial[0] ? serial : "unknown", size, d->size);
	fprintf(stderr, "  on it now: %s\n", found[0] ? found : "no partition table or filesystem found");
}

/* MAJOR:MINOR:SERIAL:BYTES: another stick plugged in where one was pulled
 * gets the same numbers, rarely the same serial and size. The size last, for
 * the scripts to take. */
void disk_identity(const struct disk *d, char *buf, size_t size)
{
	char serial[DISK_SERIAL_SIZE];
	disk_serial(d, serial);
	for (char *c = serial; *c; c++)
		if (!isalnum((unsigned char) *c) && *c != '-' && *c != '.')
			*c = '_';
	snprintf(buf, size, "%u:%u:%s:%" PRIu64, major(d->devnum), minor(d->devnum), serial[0] ? serial : "-", d->size);
}

int target_disk_open(const char *target, struct disk *d)
{
	struct stat st, lst;
	if (lstat(target, &lst) < 0) {
		if (errno != ENOENT)
			return log_error_errno(negative_errno(), "%s: %m", target);
		char copy[PATH_MAX], dir[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s", target);
		char *slash = strrchr(copy, '/');
		if (slash)
			*(slash == copy ? slash + 1 : slash) = '\0';
		if (path_under_dev(target) || (slash && realpath(copy, dir) && path_under_dev(dir)))
			return log_error_errno(-ENODEV, "%s: no such device (a typo, or a disk not plugged in?)",
					       target);
		return 1;
	}
	if (stat(target, &st) < 0) {
		char to[PATH_MAX] = "";
		ssize_t n = readlink(target, to, sizeof(to) - 1);
		to[n > 0 ? n : 0] = '\0';
		sanitize(to);
		return log_error_errno(-ENODEV, "%s is a link to %s, which does not exist (a disk unplugged?)", target,
				       to);
	}
	if (S_ISREG(st.st_mode))
		return 1;
	if (S_ISCHR(st.st_mode))
		return log_error_errno(-ENOTBLK, "%s is a character device, not a disk%s", target,
				       strstr(target, "nvme") ? " (an NVMe controller: its disks are /dev/nvmeXnY)"
							      : "");
	if (S_ISDIR(st.st_mode))
		return log_error_errno(-EISDIR, "%s is a directory: give a disk or an image file's name", target);
	if (!S_ISBLK(st.st_mode))
		return log_error_errno(-ENOTBLK, "%s is neither a disk nor an image file (a socket, a pipe?)", target);
	int r = disk_classify(target, &st, d);
	if (r < 0)
		return r;
	return disk_hold(d);
}

/* Copy image bytes [from, to) to the disk, zeroing on the disk what is a
 * hole in the image. */
static int copy_range(int disk_fd, int img_fd, uint64_t from, uint64_t to, char *buf)
{
	uint64_t off = from;
	while (off < to) {
		off_t data = lseek(img_fd, (off_t) off, SEEK_DATA);
		uint64_t data_start = data < 0 ? to : (uint64_t) data < to ? (uint64_t) data : to;
		if (data < 0 && errno != ENXIO)
			return negative_errno();
		if (data_start > off) {
			uint64_t range[2] = { off, data_start - off };
			if (ioctl(disk_fd, BLKZEROOUT, range) < 0)
				return negative_errno();
			off = data_start;
			continue;
		}
		off_t hole = lseek(img_fd, (off_t) off, SEEK_HOLE);
		uint64_t end = hole < 0 ? to : (uint64_t) hole < to ? (uint64_t) hole : to;
		while (off < end) {
			size_t n = (size_t) (end - off < CHUNK ? end - off : CHUNK);
			ssize_t got = pread_full(img_fd, buf, n, off);
			if (got <= 0)
				return got < 0 ? (int) got : -EIO;
			int r = pwrite_all(disk_fd, buf, (size_t) got, off);
			if (r < 0)
				return r;
			off += (uint64_t) got;
			fault_point("write-disk: chunk");
		}
	}
	return 0;
}

int disk_write_image(struct disk *d, const char *image)
{
	_cleanup_close_ int img_fd = open(image, O_RDONLY | O_CLOEXEC);
	if (img_fd < 0)
		return log_error_errno(negative_errno(), "%s: %m", image);
	struct stat st;
	if (fstat(img_fd, &st) < 0 || !S_ISREG(st.st_mode))
		return log_error_errno(-EINVAL, "%s is not a regular file", image);
	uint64_t size = (uint64_t) st.st_size;
	if (size > d->size)
		return log_error_errno(-EFBIG, "%s (%" PRIu64 " bytes) does not fit on %s (%" PRIu64 " bytes)", image,
				       size, d->path, d->size);
	if (size % 512 != 0 || size < 2 * MIB)
		return log_error_errno(-EINVAL, "%s: not a disk image (%" PRIu64 " bytes)", image, size);
	_cleanup_free_ char *buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;

	/* Both ends first: the disk stops being what it was. */
	uint64_t head[2] = { 0, MIB }, tail[2] = { d->size - MIB, MIB };
	int r = 0;
	if (ioctl(d->fd, BLKZEROOUT, head) < 0 || ioctl(d->fd, BLKZEROOUT, tail) < 0 || fsync(d->fd) < 0)
		r = negative_errno();
	fault_point("write-disk: ends zeroed");
	if (r >= 0)
		r = copy_range(d->fd, img_fd, MIB, size, buf);
	if (r >= 0 && fsync(d->fd) < 0)
		r = negative_errno();
	fault_point("write-disk: body written");
	if (r >= 0)
		r = copy_range(d->fd, img_fd, 0, MIB, buf);
	if (r >= 0 && fsync(d->fd) < 0)
		r = negative_errno();
	if (r < 0)
		return log_error_errno(r,
				       "Writing %s failed: %m. It has no partition table now (its first MiB is "
				       "written last): run the install again",
				       d->path);
	/* Load the new table: we hold the disk, so the kernel allows it. */
	if (ioctl(d->fd, BLKRRPART) < 0 && errno != EINVAL)
		log_warning_errno(negative_errno(), "%s: the kernel did not re-read its partition table: %m", d->path);
	return 0;
}
