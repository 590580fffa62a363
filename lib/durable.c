/* SPDX-License-Identifier: Apache-2.0 */
#include "durable.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/types.h>

#include "log.h"
#include "util.h"

void fault_point(const char *name)
{
	static unsigned long count;
	const char *kill_at = getenv("KAIROS_FAULT_KILL_AT");
	const char *trace = getenv("KAIROS_FAULT_TRACE");
	if (!kill_at && !trace)
		return;
	count++;
	if (trace)
		fprintf(stderr, "fault-point %lu %s\n", count, name);
	if (kill_at && strtoul(kill_at, NULL, 10) == count)
		raise(SIGKILL);
}

/* Offsets past what off_t holds would wrap negative in the cast. */
static bool offset_fits(uint64_t off, size_t n)
{
	return off <= (uint64_t) INT64_MAX && n <= (uint64_t) INT64_MAX - off;
}

/* off < 0: write() at the file position; else pwrite() at off. */
static int write_loop(int fd, const char *p, size_t n, int64_t off)
{
	while (n > 0) {
		ssize_t k = off < 0 ? write(fd, p, n) : pwrite(fd, p, n, (off_t) off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? negative_errno() : -ENOSPC;
		p += k;
		n -= (size_t) k;
		if (off >= 0)
			off += k;
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t n)
{
	return write_loop(fd, buf, n, -1);
}

int pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
	if (!offset_fits(off, n))
		return -EINVAL;
	return write_loop(fd, buf, n, (int64_t) off);
}

/* off < 0: read() from the file position; else pread() at off. */
static ssize_t read_loop(int fd, char *p, size_t n, int64_t off)
{
	if (n > SSIZE_MAX)
		return -EINVAL;
	size_t done = 0;
	while (done < n) {
		ssize_t k = off < 0 ? read(fd, p + done, n - done)
				    : pread(fd, p + done, n - done, (off_t) off + (off_t) done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			break;
		done += (size_t) k;
	}
	return (ssize_t) done;
}

ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	if (!offset_fits(off, n))
		return -EINVAL;
	return read_loop(fd, buf, n, (int64_t) off);
}

int fsync_path(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	fault_point("fsync");
	if (fsync(fd) < 0)
		return negative_errno();
	return 0;
}

int fsync_parent_dir(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	return fsync_path(dirname(copy));
}

int rename_durable(const char *from, const char *to)
{
	fault_point("rename");
	if (rename(from, to) < 0)
		return negative_errno();
	int r = fsync_parent_dir(to);
	if (r < 0)
		return r;

	_cleanup_free_ char *a = strdup(from), *b = strdup(to);
	if (!a || !b)
		return -ENOMEM;
	if (!streq(dirname(a), dirname(b)))
		return fsync_parent_dir(from);
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *copy = strdup(path), *tmp = NULL;
	if (!copy)
		return -ENOMEM;
	const char *base = basename(copy);
	_cleanup_free_ char *dircopy = strdup(path);
	if (!dircopy)
		return -ENOMEM;
	const char *dir = dirname(dircopy);
	if (asprintf(&tmp, "%s/.%s.tmpXXXXXX", dir, base) < 0)
		return -ENOMEM;

	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return negative_errno();

	fault_point("write");
	int r = fchmod(fd, mode) < 0 ? negative_errno() : write_all(fd, data, len);
	if (r == 0) {
		fault_point("fsync");
		if (fsync(fd) < 0)
			r = negative_errno();
	}
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	r = rename_durable(tmp, path);
	if (r < 0)
		unlink(tmp);
	return r;
}

int copy_file_atomic(const char *from, const char *to, mode_t mode)
{
	_cleanup_free_ char *dircopy = strdup(to), *tmp = NULL;
	if (!dircopy)
		return -ENOMEM;
	if (asprintf(&tmp, "%s/.tmp-copyXXXXXX", dirname(dircopy)) < 0)
		return -ENOMEM;
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return negative_errno();
	_cleanup_close_ int out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return negative_errno();

	fault_point("write");
	int r = fchmod(out, mode) < 0 ? negative_errno() : 0;
	const size_t bufsize = 1 << 16;
	_cleanup_free_ char *buf = malloc(bufsize);
	if (!buf)
		r = -ENOMEM;
	while (r == 0) {
		ssize_t n = read_loop(in, buf, bufsize, -1);
		if (n < 0)
			r = (int) n;
		else if (n == 0)
			break;
		else
			r = write_all(out, buf, (size_t) n);
	}
	if (r == 0) {
		fault_point("fsync");
		if (fsync(out) < 0)
			r = negative_errno();
	}
	if (r == 0)
		r = rename_durable(tmp, to);
	if (r < 0)
		unlink(tmp);
	return r;
}

int write_file_in_place(const char *path, const void *data, size_t len)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t) st.st_size != len ||
	    (size_t) st.st_blocks * 512 < len) {
		/* Missing, wrong size or sparse: GRUB could not write it either.
		 * A new file under the name: GRUB, which does not replay the
		 * journal, must find the new inode, not the freed blocks of the
		 * old one, before it writes there (save_env writes in place). */
		int r = write_file_atomic(path, data, len, 0644);
		return r < 0 ? r : checkpoint_for_bootloader(path);
	}

	fault_point("write");
	int r = pwrite_all(fd, data, len, 0);
	if (r < 0)
		return r;
	fault_point("fsync");
	if (fsync(fd) < 0)
		return negative_errno();
	return 0;
}

int read_file_bounded(const char *path, void *buf, size_t size, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	/* read(), not pread(): also for what has no offsets (a pipe) */
	ssize_t n = read_loop(fd, buf, size, -1);
	if (n < 0)
		return (int) n;
	*len = (size_t) n;
	return 0;
}

/* From the kernel's fs/ext4/ext4.h (Linux 5.13+); not in the uapi headers. */
#ifndef EXT4_IOC_CHECKPOINT
#define EXT4_IOC_CHECKPOINT _IOW('f', 43, __u32)
#endif

static bool is_ext4(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == EXT4_SUPER_MAGIC; /* ext2/3/4 share it */
}

int checkpoint_for_bootloader(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	__u32 flags = 0;
	if (ioctl(fd, EXT4_IOC_CHECKPOINT, &flags) == 0)
		return 0;
	if (errno == ENODEV) /* ext4 without a journal: nothing waits in one */
		return 0;
	/* EPERM (not root) and the rest: the journal is not flushed; say so. */
	if (errno != ENOTTY && errno != EINVAL && errno != EOPNOTSUPP)
		return negative_errno();
	/* Not ext4 (tmpfs in tests, vfat): no journal GRUB could miss. */
	if (!is_ext4(fd))
		return 0;
	/* ext4 on Linux before 5.13 has no EXT4_IOC_CHECKPOINT: freezing the
	 * filesystem flushes its journal to the home blocks (ext4_freeze). */
	if (ioctl(fd, FIFREEZE, 0) < 0)
		return negative_errno();
	if (ioctl(fd, FITHAW, 0) < 0)
		return negative_errno();
	return 0;
}

int mkdir_parents(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	if ((size_t) snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return log_error_errno(negative_errno(), "Failed to create %s: %m", buf);
		if (saved == '\0')
			return 0;
		*p = saved;
	}
}
