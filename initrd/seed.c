/* SPDX-License-Identifier: Apache-2.0 */
#define _XOPEN_SOURCE 700
#include "seed.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "durable.h"
#include "log.h"
#include "util.h"

/* nftw() has no user pointer: the walk's source and target prefixes. */
static const char *walk_src, *walk_dst;

static int copy_file_data(const char *from, const char *to, const struct stat *st)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return negative_errno();
	_cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777);
	if (out < 0)
		return negative_errno();
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t) (n - done));
			if (w < 0)
				return negative_errno();
			done += w;
		}
	}
	return fsync(out) < 0 ? negative_errno() : 0;
}

static int copy_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void) ftw;
	char to[PATH_MAX];
	if ((size_t) snprintf(to, sizeof(to), "%s%s", walk_dst, path + strlen(walk_src)) >= sizeof(to))
		return -ENAMETOOLONG;

	int r = 0;
	if (type == FTW_D)
		r = mkdir(to, st->st_mode & 07777) < 0 ? negative_errno() : 0;
	else if (type == FTW_SL) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return log_error_errno(negative_errno(), "Failed to read link %s: %m", path);
		target[n] = '\0';
		r = symlink(target, to) < 0 ? negative_errno() : 0;
	} else if (type == FTW_F && S_ISREG(st->st_mode))
		r = copy_file_data(path, to, st);
	else if (type == FTW_F)
		r = mknod(to, st->st_mode, st->st_rdev) < 0 ? negative_errno() : 0;
	else
		return log_error_errno(-EIO, "Cannot read %s while seeding", path);
	if (r < 0)
		return log_error_errno(r, "Failed to copy %s to %s: %m", path, to);

	if (lchown(to, st->st_uid, st->st_gid) < 0)
		return log_error_errno(negative_errno(), "Failed to set owner of %s: %m", to);
	if (type != FTW_SL && chmod(to, st->st_mode & 07777) < 0) /* umask and chown cleared bits */
		return log_error_errno(negative_errno(), "Failed to set mode of %s: %m", to);
	if (type != FTW_D) {
		struct timespec times[2] = { st->st_atim, st->st_mtim };
		(void) utimensat(AT_FDCWD, to, times, AT_SYMLINK_NOFOLLOW);
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void) st;
	(void) type;
	(void) ftw;
	return remove(path) < 0 && errno != ENOENT ? negative_errno() : 0;
}

int seed_directory(const char *src, const char *dst)
{
	char tmp[PATH_MAX];
	if ((size_t) snprintf(tmp, sizeof(tmp), "%s.seeding", dst) >= sizeof(tmp))
		return -ENAMETOOLONG;

	/* What a boot interrupted while seeding left behind. */
	int r = nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (r < 0 && errno != ENOENT)
		return log_error_errno(negative_errno(), "Failed to remove %s: %m", tmp);

	struct stat st;
	if (lstat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
		walk_src = src;
		walk_dst = tmp;
		r = nftw(src, copy_entry, 16, FTW_PHYS);
		walk_src = walk_dst = NULL;
		if (r != 0) {
			/* A full partition: give back what the partial copy took. */
			(void) nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
			return r < 0 ? r : -EIO;
		}
	} else if (mkdir(tmp, 0755) < 0)
		return log_error_errno(negative_errno(), "Failed to create %s: %m", tmp);

	r = rename_durable(tmp, dst);
	if (r < 0)
		return log_error_errno(r, "Failed to rename %s to %s: %m", tmp, dst);
	return 0;
}
