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

int oem_with_dir(const struct state_dir *sd, const char *dir, const char *label, unsigned wait_ms,
		 int (*fn)(const char *dir, void *userdata), void *userdata)
{
	if (dir)
		return fn(dir, userdata);

	_cleanup_free_ char *dev = NULL;
	int r = state_dir_find_partition(sd, label, wait_ms, &dev);
	if (r < 0)
		return r; /* no COS_OEM (or not ours for sure): no file */
	(void) mkdir(OEM_MOUNT_DIR, 0700);
	if (mount(dev, OEM_MOUNT_DIR, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		r = negative_errno();
		log_warning("Cannot mount %s read-only on %s (%m): nothing read from COS_OEM", dev, OEM_MOUNT_DIR);
		return r;
	}
	r = fn(OEM_MOUNT_DIR, userdata);
	if (umount(OEM_MOUNT_DIR) < 0)
		log_warning("Cannot unmount %s: %m", OEM_MOUNT_DIR);
	return r;
}

struct conf_text {
	char *text;
	size_t size;
};

static int read_conf_cb(const char *dir, void *userdata)
{
	struct conf_text *t = userdata;
	return read_conf(dir, t->text, t->size);
}

int oem_conf_read(const struct state_dir *sd, const char *dir, const char *label, unsigned wait_ms, char *text,
		  size_t size)
{
	return oem_with_dir(sd, dir, label, wait_ms, read_conf_cb, &(struct conf_text){ text, size });
}

#define LABEL_WAIT_MS 5000

void oem_recovery_policy(const struct state_dir *sd, const char *oem_dir, const struct cmdline *c,
			 enum recovery_policy *policy, const char **source)
{
	*policy = RECOVERY_POLICY_UNSET;
	*source = "default";
	if (recovery_policy_from_cmdline(c, policy) > 0) {
		*source = "kernel command line";
		return;
	}

	const char *label = cmdline_get(c, "kairos.oem_label");
	char text[8193];
	if (oem_conf_read(sd, oem_dir, label ? label : "COS_OEM", LABEL_WAIT_MS, text, sizeof(text)) == 0 &&
	    recovery_policy_from_conf(text, policy) > 0)
		*source = "COS_OEM " OEM_CONF_FILE;
}
