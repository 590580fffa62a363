/* SPDX-License-Identifier: Apache-2.0 */
#include "persistent_wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "util.h"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	if (ftw->level == 0)
		return 0; /* the directory itself stays */
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		return log_error_errno(negative_errno(), "Failed to remove %s: %m", path);
	return 0;
}

int persistent_wipe_dir(const char *dir)
{
	fault_point("wipe");
	int r = nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (r != 0)
		return log_error_errno(r < 0 ? negative_errno() : -EIO, "Failed to empty %s", dir);
	r = fsync_path(dir);
	if (r < 0)
		return log_error_errno(r, "Failed to sync %s: %m", dir);
	log_info("Persistent data in %s wiped", dir);
	return 0;
}

/* A child process, waited for: mkfs. */
static int run_program(char *const argv[])
{
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (r != 0)
		return log_error_errno(-r, "Failed to run %s: %s", argv[0], strerror(r));
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(negative_errno(), "Failed to wait for %s: %m", argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return log_error_errno(-EIO, "%s failed (status %d)", argv[0], status);
	return 0;
}

/* Recovery does not mount the persistent partition (kairos-boot), so nothing
 * uses it: recreate its filesystem. O_EXCL on a block device fails with
 * EBUSY while anything has it mounted: then refuse rather than pull a
 * filesystem from under its users. */
int persistent_wipe_partition(const struct state_dir *sd, const char *dev, const char *label, unsigned wait_ms)
{
	_cleanup_free_ char *found = NULL;
	if (!dev) {
		int r = state_dir_find_partition(sd, label, wait_ms, &found);
		if (r == -ENOENT) {
			log_info("No persistent partition (%s): nothing to wipe", label);
			return 0;
		}
		if (r < 0)
			return r;
		dev = found;
	}
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0 && errno == EBUSY)
		return log_error_errno(-EBUSY,
				       "The persistent partition %s is in use (mounted?): not wiping it. Reboot into "
				       "recovery, where nothing mounts it, and retry",
				       dev);
	if (fd < 0)
		return log_error_errno(negative_errno(), "Failed to open the persistent partition %s: %m", dev);
	close(TAKE_FD(fd));
	fault_point("wipe");
	char *argv[] = { "mkfs.ext4", "-q", "-F", "-L", (char *) label, (char *) dev, NULL };
	int r = run_program(argv);
	if (r < 0)
		return log_error_errno(r,
				       "Failed to recreate the persistent partition %s; nothing was committed, "
				       "recovery boots again: retry the reset",
				       dev);
	log_info("Persistent partition %s (%s) recreated: its data is gone", dev, label);
	return 0;
}
