/* SPDX-License-Identifier: Apache-2.0 */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "log.h"
#include "util.h"

#define LOOP_MAJOR 7
#define LOOP_ATTACH_ATTEMPTS 16

static int open_loop_node(int nr, char *devnode, size_t size)
{
	snprintf(devnode, size, "/dev/loop%d", nr);
	int fd = open(devnode, O_RDONLY | O_CLOEXEC);
	/* Without udev, and with a static /dev, the node may not exist yet. */
	if (fd < 0 && errno == ENOENT) {
		if (mknod(devnode, S_IFBLK | 0600, makedev(LOOP_MAJOR, nr)) < 0 && errno != EEXIST)
			return negative_errno();
		fd = open(devnode, O_RDONLY | O_CLOEXEC);
	}
	return fd < 0 ? negative_errno() : fd;
}

/* LOOP_CONFIGURE (5.8+) sets file and flags in one step; older kernels need
 * LOOP_SET_FD then LOOP_SET_STATUS64. */
static int configure(int loop_fd, int file_fd, const char *file)
{
	struct loop_config config = {
		.fd = (unsigned) file_fd,
		.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR,
	};
	snprintf((char *) config.info.lo_file_name, sizeof(config.info.lo_file_name), "%s", file);
	if (ioctl(loop_fd, LOOP_CONFIGURE, &config) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return negative_errno();

	if (ioctl(loop_fd, LOOP_SET_FD, file_fd) < 0)
		return negative_errno();
	if (ioctl(loop_fd, LOOP_SET_STATUS64, &config.info) < 0) {
		int r = negative_errno();
		(void) ioctl(loop_fd, LOOP_CLR_FD, 0);
		return r;
	}
	return 0;
}

int loop_attach_ro(const char *file, char *devnode, size_t size)
{
	_cleanup_close_ int file_fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (file_fd < 0)
		return log_error_errno(negative_errno(), "Failed to open %s: %m", file);
	_cleanup_close_ int ctl_fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl_fd < 0)
		return log_error_errno(negative_errno(), "Failed to open /dev/loop-control: %m");

	/* Another process may take the device between GET_FREE and our
	 * configure (EBUSY): ask again. */
	int r = -EBUSY;
	for (int attempt = 0; attempt < LOOP_ATTACH_ATTEMPTS && r == -EBUSY; attempt++) {
		int nr = ioctl(ctl_fd, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return log_error_errno(negative_errno(), "Failed to get a free loop device: %m");
		_cleanup_close_ int loop_fd = open_loop_node(nr, devnode, size);
		if (loop_fd < 0)
			return log_error_errno(loop_fd, "Failed to open %s: %m", devnode);
		r = configure(loop_fd, file_fd, file);
		if (r == 0)
			return TAKE_FD(loop_fd);
	}
	return log_error_errno(r, "Failed to attach %s to a loop device: %m", file);
}
