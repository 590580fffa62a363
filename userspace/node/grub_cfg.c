/* SPDX-License-Identifier: Apache-2.0 */
#include "grub_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "durable.h"
#include "log.h"
#include "util.h"

/* grub/grub.cfg's bytes, written by userspace.mk into $(BUILD)/gen;
 * linters see an empty menu. */
const unsigned char grub_cfg_data[] = {
#if __has_include("gen/grub_cfg_data.inc")
#include "gen/grub_cfg_data.inc"
#else
	'\n'
#endif
};
const size_t grub_cfg_size = sizeof(grub_cfg_data);

int grub_cfg_install(const char *state_path)
{
	_cleanup_free_ char *dir = NULL, *path = NULL;
	if (asprintf(&dir, "%s/grub", state_path) < 0 || asprintf(&path, "%s/grub.cfg", dir) < 0)
		return -ENOMEM;
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;

	/* One byte more than ours: a longer file is different too. */
	_cleanup_free_ char *old = malloc(grub_cfg_size + 1);
	size_t len = 0;
	if (!old)
		return -ENOMEM;
	if (read_file_bounded(path, old, grub_cfg_size + 1, &len) == 0 && len == grub_cfg_size &&
	    memcmp(old, grub_cfg_data, len) == 0)
		return 0;

	int r = write_file_atomic(path, grub_cfg_data, grub_cfg_size, 0644);
	if (r < 0)
		return log_error_errno(r, "Failed to update the boot menu %s: %m. Nothing was changed", path);
	r = checkpoint_for_bootloader(path);
	if (r < 0)
		log_warning_errno(r,
				  "Updated %s, but could not flush the journal for GRUB (%m): a power cut in the "
				  "next seconds may leave GRUB reading the old boot menu",
				  path);
	log_info("Updated the boot menu %s", path);
	return 0;
}
