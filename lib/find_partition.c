/* SPDX-License-Identifier: Apache-2.0 */
#include "find_partition.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define POLL_INTERVAL_MS 150

static unsigned long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000ULL;
}

/* /dev/NAME may be missing on a static /dev: make the node from major:minor. */
static int ensure_node(const char *name, unsigned major_nr, unsigned minor_nr, char *devnode, size_t size)
{
	snprintf(devnode, size, "/dev/%s", name);
	struct stat st;
	if (stat(devnode, &st) == 0)
		return S_ISBLK(st.st_mode) && st.st_rdev == makedev(major_nr, minor_nr) ? 0 : -ENODEV;
	if (mknod(devnode, S_IFBLK | 0600, makedev(major_nr, minor_nr)) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static bool probe_label(const char *devnode, const char *label, struct partition *ret)
{
	blkid_probe pr = blkid_new_probe_from_filename(devnode);
	if (!pr)
		return false;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID);
	bool found = false;
	const char *value = NULL, *type = NULL, *uuid = NULL;
	if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "LABEL", &value, NULL) == 0 &&
	    streq(value, label) && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0) {
		snprintf(ret->devnode, sizeof(ret->devnode), "%s", devnode);
		snprintf(ret->fstype, sizeof(ret->fstype), "%s", type);
		if (blkid_probe_lookup_value(pr, "UUID", &uuid, NULL) < 0)
			uuid = "";
		snprintf(ret->uuid, sizeof(ret->uuid), "%s", uuid);
		found = true;
	}
	blkid_free_probe(pr);
	return found;
}

void disk_from_sysfs_target(const char *target, char *disk, size_t size)
{
	char buf[PATH_MAX];
	disk[0] = '\0';
	if ((size_t)snprintf(buf, sizeof(buf), "%s", target) >= sizeof(buf))
		return;
	char *last = strrchr(buf, '/');
	if (!last)
		return;
	*last = '\0';
	const char *name = last + 1, *parent = strrchr(buf, '/');
	parent = parent ? parent + 1 : buf;
	const char *d = streq(parent, "block") ? name : parent;
	if (strlen(d) < size)
		memcpy(disk, d, strlen(d) + 1);
}

/* sysfs puts a partition's directory inside its disk's. "" when the device
 * is not a block device sysfs knows. */
static void disk_of_devnum(unsigned major_nr, unsigned minor_nr, char *disk, size_t size)
{
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major_nr, minor_nr);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	disk[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	disk_from_sysfs_target(target, disk, size);
}

int partition_disk_of_path(const char *path, char *disk, size_t size)
{
	struct stat st;
	disk[0] = '\0';
	if (stat(path, &st) < 0)
		return negative_errno();
	disk_of_devnum(major(st.st_dev), minor(st.st_dev), disk, size);
	return disk[0] ? 0 : -ENODEV; /* not on a block device (tmpfs, a test's directory) */
}

static unsigned score(const struct partition *p, const struct partition_preference *prefer)
{
	if (!prefer)
		return 0;
	return (prefer->uuid && prefer->uuid[0] && streq(p->uuid, prefer->uuid) ? 2U : 0U) +
	       (prefer->disk && prefer->disk[0] && streq(p->disk, prefer->disk) ? 1U : 0U);
}

static void append_word(char *buf, size_t size, const char *word)
{
	size_t len = strlen(buf);
	snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
}

static int scan_once(const char *label, const struct partition_preference *prefer, struct partition *ret)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/partitions", "re");
	if (!f)
		return negative_errno();
	struct partition best = {0};
	unsigned best_score = 0, found = 0;
	char others[sizeof(best.others)] = "";
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		/* "major minor #blocks name"; the header and blank line do not parse. */
		char *p = line, *end;
		unsigned long nr[3];
		for (int i = 0; i < 3; i++, p = end) {
			errno = 0;
			nr[i] = strtoul(p, &end, 10);
			if (errno || end == p)
				break;
		}
		if (p != end || nr[0] > UINT_MAX || nr[1] > UINT_MAX)
			continue;
		p += strspn(p, " \t");
		p[strcspn(p, " \t\n")] = '\0';
		if (!*p || strchr(p, '/') || strlen(p) > 64)
			continue;
		char devnode[DEVNODE_MAX];
		struct partition cand = {0};
		if (ensure_node(p, (unsigned)nr[0], (unsigned)nr[1], devnode, sizeof(devnode)) < 0 ||
		    !probe_label(devnode, label, &cand))
			continue;
		disk_of_devnum((unsigned)nr[0], (unsigned)nr[1], cand.disk, sizeof(cand.disk));
		unsigned s = score(&cand, prefer);
		if (found == 0 || s > best_score) {
			if (found > 0)
				append_word(others, sizeof(others), best.devnode);
			best = cand;
			best_score = s;
		} else
			append_word(others, sizeof(others), cand.devnode);
		found++;
	}
	if (!found)
		return -ENOENT;
	*ret = best;
	ret->found = found;
	memcpy(ret->others, others, sizeof(others));
	return 0;
}

int find_partition_by_label(const char *label, unsigned timeout_ms, const struct partition_preference *prefer,
			    struct partition *ret)
{
	unsigned long long deadline = now_ms() + timeout_ms;
	for (bool first = true;; first = false) {
		int r = scan_once(label, prefer, ret);
		if (r == 0) {
			log_info("Found %s on %s (%s)", label, ret->devnode, ret->fstype);
			if (ret->found > 1)
				log_warning("The label %s is on %u filesystems: using %s%s, not %s", label, ret->found,
					    ret->devnode,
					    score(ret, prefer) >= 2   ? " (the one GRUB read)"
					    : score(ret, prefer) == 1 ? " (on the disk of the state partition)"
								      : " (the first one)",
					    ret->others);
			return 0;
		}
		if (r != -ENOENT)
			return log_error_errno(r, "Failed to read /proc/partitions: %m");
		if (now_ms() >= deadline)
			return log_info_errno(-ENOENT, "No filesystem labelled %s after %u ms", label, timeout_ms);
		if (first)
			log_info("Waiting up to %u ms for a filesystem labelled %s", timeout_ms, label);
		nanosleep(&(struct timespec){.tv_nsec = POLL_INTERVAL_MS * 1000000L}, NULL);
	}
}
