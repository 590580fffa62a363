/* SPDX-License-Identifier: Apache-2.0 */
#include "find_partition.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
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
	return (unsigned long long) ts.tv_sec * 1000ULL + (unsigned long long) ts.tv_nsec / 1000000ULL;
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
	if ((size_t) snprintf(buf, sizeof(buf), "%s", target) >= sizeof(buf))
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

static bool word_in(const char *word, const char *list)
{
	size_t len = strlen(word);
	if (!len)
		return false;
	for (const char *p = list; *p;) {
		p += strspn(p, " ");
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, word, len) == 0)
			return true;
		p += n;
	}
	return false;
}

static bool passes(const struct partition *p, const struct partition_rules *rules)
{
	if (!rules)
		return true;
	if (rules->uuid && rules->uuid[0] && strcasecmp(p->uuid, rules->uuid) != 0)
		return false;
	if (rules->fstype && rules->fstype[0] && !streq(p->fstype, rules->fstype))
		return false;
	return !rules->disks || !rules->disks[0] || word_in(p->disk, rules->disks);
}

static void append_word(char *buf, size_t size, const char *word)
{
	size_t len = strlen(buf);
	snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
}

int partition_choose(const struct partition *cand, size_t n, const struct partition_rules *rules, struct partition *ret)
{
	size_t taken = n, passing = 0;
	for (size_t i = 0; i < n; i++)
		if (passes(&cand[i], rules) && passing++ == 0)
			taken = i;
	if (passing == 1)
		*ret = cand[taken];
	else
		*ret = (struct partition){ 0 };
	ret->found = (unsigned) n;
	ret->others[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (passing != 1 || i != taken)
			append_word(ret->others, sizeof(ret->others), cand[i].devnode);
	return n == 0 ? -ENOENT : passing == 0 ? -EXDEV : passing > 1 ? -ENOTUNIQ : 0;
}

void partition_candidates_add(struct partition *cand, size_t *n, size_t max, const struct partition *c,
			      const struct partition_rules *rules)
{
	if (*n < max) {
		cand[(*n)++] = *c;
		return;
	}
	/* Full (a device with many partitions so labelled): ours must not be
	 * crowded out by ones that are refused anyway. */
	if (!passes(c, rules))
		return;
	for (size_t i = 0; i < *n; i++)
		if (!passes(&cand[i], rules)) {
			cand[i] = *c;
			return;
		}
}

static int scan_once(const char *label, const struct partition_rules *rules, struct partition *ret)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/partitions", "re");
	if (!f)
		return negative_errno();
	struct partition cand[PARTITION_CANDIDATES_MAX], c;
	size_t n = 0, total = 0;
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
		c = (struct partition){ 0 };
		if (ensure_node(p, (unsigned) nr[0], (unsigned) nr[1], devnode, sizeof(devnode)) < 0 ||
		    !probe_label(devnode, label, &c))
			continue;
		disk_of_devnum((unsigned) nr[0], (unsigned) nr[1], c.disk, sizeof(c.disk));
		total++;
		partition_candidates_add(cand, &n, ELEMENTSOF(cand), &c, rules);
	}
	int r = partition_choose(cand, n, rules, ret);
	ret->found = (unsigned) total;
	return r;
}

int find_partition_by_label(const char *label, unsigned timeout_ms, const struct partition_rules *rules,
			    struct partition *ret)
{
	const char *uuid = rules && rules->uuid && rules->uuid[0] ? rules->uuid : NULL;
	const char *disks = rules && rules->disks && rules->disks[0] ? rules->disks : NULL;
	const char *fstype = rules && rules->fstype && rules->fstype[0] ? rules->fstype : "?";
	unsigned long long deadline = now_ms() + timeout_ms;
	for (bool first = true;; first = false) {
		int r = scan_once(label, rules, ret);
		if (r == 0) {
			log_info("Found %s on %s (%s)", label, ret->devnode, ret->fstype);
			if (ret->found > 1)
				log_warning("The label %s is on %u filesystems: using %s%s, not %s", label, ret->found,
					    ret->devnode,
					    uuid ? " (the one GRUB read)" : " (on the disk of the state partition)",
					    ret->others);
			return 0;
		}
		/* Two that pass will not become one by waiting. */
		if (r == -ENOTUNIQ)
			return log_error_errno(
				r,
				"The label %s is on %u filesystems that could each be ours (%s): refusing to "
				"guess; unplug the other disk%s",
				label, ret->found, ret->others, uuid ? " (a clone: the same filesystem UUID)" : "");
		if (r != -ENOENT && r != -EXDEV)
			return log_error_errno(r, "Failed to read /proc/partitions: %m");
		if (now_ms() >= deadline) {
			if (r == -EXDEV && uuid)
				return log_error_errno(r,
						       "The filesystem GRUB read (UUID %s) did not appear in %u ms; %s "
						       "labelled %s is another one: refusing it",
						       uuid, timeout_ms, ret->others, label);
			if (r == -EXDEV && disks)
				return log_error_errno(r,
						       "%s labelled %s is not on %s, the disk of the state partition "
						       "(another node's disk, a USB stick?): refusing it",
						       ret->others, label, disks);
			if (r == -EXDEV)
				return log_error_errno(r, "%s labelled %s is not %s: refusing it", ret->others, label,
						       fstype);
			return log_info_errno(-ENOENT, "No filesystem labelled %s after %u ms", label, timeout_ms);
		}
		if (first)
			log_info("Waiting up to %u ms for %s labelled %s", timeout_ms,
				 uuid ? "the filesystem GRUB read," : "a filesystem", label);
		nanosleep(&(struct timespec){ .tv_nsec = POLL_INTERVAL_MS * 1000000L }, NULL);
	}
}
