/* SPDX-License-Identifier: Apache-2.0 */
#include "oem_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "durable.h"
#include "log.h"
#include "recovery_policy.h"
#include "util.h"

static int read_conf(const char *dir, char *text, size_t size)
{
	_cleanup_free_ char *path = NULL;
	size_t len = 0;
	if (asprintf(&path, "%s/" OEM_CONF_FILE, dir) < 0)
		return -ENOMEM;
	int r = read_file_bounded(path, text, size - 1, &len);
	if (r < 0)
		return r;
	text[len] = '\0';
	return 0;
}

int oem_conf_read(const struct state_dir *sd, const char *dir, const char *label, unsigned wait_ms, char *text,
		  size_t size)
{
	if (dir)
		return read_conf(dir, text, size);

	_cleanup_free_ char *dev = NULL;
	int r = state_dir_find_partition(sd, label, wait_ms, &dev);
	if (r < 0)
		return r; /* no COS_OEM (or not ours for sure): no file */
	(void) mkdir(OEM_MOUNT_DIR, 0700);
	if (mount(dev, OEM_MOUNT_DIR, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		r = negative_errno();
		log_warning("Cannot mount %s read-only on %s (%m): no policy from " OEM_CONF_FILE, dev, OEM_MOUNT_DIR);
		return r;
	}
	r = read_conf(OEM_MOUNT_DIR, text, size);
	if (umount(OEM_MOUNT_DIR) < 0)
		log_warning("Cannot unmount %s: %m", OEM_MOUNT_DIR);
	return r;
}
