/* SPDX-License-Identifier: Apache-2.0 */
/* Durable writes, and the fault points the kill-point tests rely on: a
 * write killed at any point leaves either the old file or the new one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/types.h>

#include "durable.h"
#include "util.h"

/* The kernel's answers, faked: this test's ioctl() and fstatfs() stand in
 * for libc's (the executable's symbols win), so a kernel without
 * EXT4_IOC_CHECKPOINT (before 5.13) can be played on any host. */
#define EXT4_IOC_CHECKPOINT _IOW('f', 43, __u32)
static struct {
	bool on;              /* fake; else pass everything through */
	int checkpoint_errno; /* 0: the checkpoint succeeds */
	int freeze_errno;
	long f_type; /* what fstatfs says the filesystem is */
	unsigned checkpoints, freezes, thaws;
} kernel;

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *argp = va_arg(ap, void *);
	va_end(ap);
	if (kernel.on && request == EXT4_IOC_CHECKPOINT) {
		kernel.checkpoints++;
		errno = kernel.checkpoint_errno;
		return kernel.checkpoint_errno ? -1 : 0;
	}
	if (kernel.on && request == FIFREEZE) {
		kernel.freezes++;
		errno = kernel.freeze_errno;
		return kernel.freeze_errno ? -1 : 0;
	}
	if (kernel.on && request == FITHAW) {
		kernel.thaws++;
		return 0;
	}
	return (int) syscall(SYS_ioctl, fd, request, argp);
}

int fstatfs(int fd, struct statfs *buf)
{
	int r = (int) syscall(SYS_fstatfs, fd, buf);
	if (r == 0 && kernel.on)
		buf->f_type = kernel.f_type;
	return r;
}

static void fake_kernel(int checkpoint_errno, long f_type)
{
	kernel = (typeof(kernel)){ .on = true, .checkpoint_errno = checkpoint_errno, .f_type = f_type };
}

static char tmpdir[] = "/tmp/test-durable-XXXXXX";

static int setup(void **unused)
{
	(void) unused;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **unused)
{
	(void) unused;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void read_back(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	assert_int_equal(read_file_bounded(path, buf, size - 1, &len), 0);
	buf[len] = '\0';
}

static void test_atomic_write(void **unused)
{
	(void) unused;
	char path[256], buf[64];
	snprintf(path, sizeof(path), "%s/file", tmpdir);
	assert_int_equal(write_file_atomic(path, "first", 5, 0600), 0);
	assert_int_equal(write_file_atomic(path, "second", 6, 0644), 0);
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "second");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(count_entries(tmpdir), 1); /* no temp left */
	assert_int_equal(write_file_atomic("/nonexistent/dir/file", "x", 1, 0644), -ENOENT);
	unlink(path);
}

/* copy_file_atomic: a whole copy with the mode asked for, nothing beside it;
 * a missing source leaves the destination as it was. */
static void test_copy(void **unused)
{
	(void) unused;
	char src[256], dst[300], sub[256], buf[64];
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(sub, sizeof(sub), "%s/copy", tmpdir);
	snprintf(dst, sizeof(dst), "%s/dst", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(write_file_atomic(src, "image bytes", 11, 0600), 0);
	assert_int_equal(write_file_atomic(dst, "old", 3, 0644), 0);
	assert_int_equal(copy_file_atomic(src, dst, 0644), 0);
	read_back(dst, buf, sizeof(buf));
	assert_string_equal(buf, "image bytes");
	struct stat st;
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(count_entries(sub), 1);

	snprintf(src, sizeof(src), "%s/missing", tmpdir);
	assert_int_equal(copy_file_atomic(src, dst, 0644), -ENOENT);
	read_back(dst, buf, sizeof(buf));
	assert_string_equal(buf, "image bytes");
	assert_int_equal(count_entries(sub), 1);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s/src", sub, tmpdir);
	assert_int_equal(system(cmd), 0);
}

static void test_bounded_read(void **unused)
{
	(void) unused;
	char path[256], buf[4];
	size_t len;
	snprintf(path, sizeof(path), "%s/long", tmpdir);
	assert_int_equal(write_file_atomic(path, "0123456789", 10, 0644), 0);
	assert_int_equal(read_file_bounded(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(buf));
	assert_memory_equal(buf, "0123", 4);
	unlink(path);
}

/* Run write_file_atomic in a child that kills itself at fault point n.
 * Returns true if the child was killed (the point existed). */
static bool write_killed_at(const char *path, unsigned n, const char *data)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char num[16];
		snprintf(num, sizeof(num), "%u", n);
		setenv("KAIROS_FAULT_KILL_AT", num, 1);
		_exit(write_file_atomic(path, data, strlen(data), 0644) < 0 ? 2 : 0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void test_kill_at_every_point(void **unused)
{
	(void) unused;
	char path[256], buf[64];
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	unsigned points = 0;
	for (unsigned n = 1;; n++) {
		assert_int_equal(write_file_atomic(path, "old", 3, 0644), 0);
		bool killed = write_killed_at(path, n, "new-content");
		read_back(path, buf, sizeof(buf));
		/* Whatever the point: the old content or the new one, whole. */
		assert_true(streq(buf, "old") || streq(buf, "new-content"));
		if (!killed) {
			assert_string_equal(buf, "new-content");
			break;
		}
		points++;
		/* Before the rename the old file holds; temps are the next run's to clean. */
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -f %s/.state.tmp*", tmpdir);
		assert_int_equal(system(cmd), 0);
	}
	/* write, fsync, rename, fsync dir */
	print_message("# write_file_atomic has %u fault points\n", points);
	assert_int_equal(points, 4);
	unlink(path);
}

static void test_in_place(void **unused)
{
	(void) unused;
	char path[256], buf[64];
	struct stat before, after;
	snprintf(path, sizeof(path), "%s/block", tmpdir);
	assert_int_equal(write_file_in_place(path, "AAAA", 4), 0); /* created */
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(write_file_in_place(path, "BBBB", 4), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "BBBB");
	/* A different size cannot be rewritten in place: replaced whole. */
	assert_int_equal(write_file_in_place(path, "CCCCCC", 6), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "CCCCCC");
	unlink(path);
}

/* The checkpoint succeeds, or the journal is flushed another way, or the
 * caller hears that it was not: never a silent success on ext4. */
static void test_checkpoint_without_the_ioctl(void **unused)
{
	(void) unused;
	fake_kernel(0, EXT4_SUPER_MAGIC);
	assert_int_equal(checkpoint_for_bootloader(tmpdir), 0);
	assert_int_equal(kernel.checkpoints + kernel.freezes, 1);

	/* Linux before 5.13 answers ENOTTY (EINVAL, EOPNOTSUPP from some
	 * paths): freeze and thaw, which flushes the journal. */
	const int unsupported[] = { ENOTTY, EINVAL, EOPNOTSUPP };
	for (size_t i = 0; i < ELEMENTSOF(unsupported); i++) {
		fake_kernel(unsupported[i], EXT4_SUPER_MAGIC);
		assert_int_equal(checkpoint_for_bootloader(tmpdir), 0);
		assert_int_equal(kernel.freezes, 1);
		assert_int_equal(kernel.thaws, 1);
	}
	/* ... and when that fails too, the caller is told. */
	fake_kernel(ENOTTY, EXT4_SUPER_MAGIC);
	kernel.freeze_errno = EPERM;
	assert_int_equal(checkpoint_for_bootloader(tmpdir), -EPERM);
	assert_int_equal(kernel.thaws, 0);

	/* Not ext4 (tmpfs, vfat): no journal that GRUB could miss. */
	fake_kernel(ENOTTY, TMPFS_MAGIC);
	assert_int_equal(checkpoint_for_bootloader(tmpdir), 0);
	assert_int_equal(kernel.freezes, 0);
	/* ext4 without a journal. */
	fake_kernel(ENODEV, EXT4_SUPER_MAGIC);
	assert_int_equal(checkpoint_for_bootloader(tmpdir), 0);
	assert_int_equal(kernel.freezes, 0);
	/* Not root: the journal stays as it is; say so. */
	fake_kernel(EPERM, EXT4_SUPER_MAGIC);
	assert_int_equal(checkpoint_for_bootloader(tmpdir), -EPERM);
	fake_kernel(EIO, EXT4_SUPER_MAGIC);
	assert_int_equal(checkpoint_for_bootloader(tmpdir), -EIO);
	kernel.on = false;
}

/* counter.env missing, resized or sparse is replaced by a new file: GRUB
 * must see that file (a checkpoint) before its save_env writes in place. A
 * rewrite in place changes no metadata and needs none. */
static void test_in_place_fallback_is_checkpointed(void **unused)
{
	(void) unused;
	char path[256];
	snprintf(path, sizeof(path), "%s/counter", tmpdir);
	fake_kernel(0, EXT4_SUPER_MAGIC);
	assert_int_equal(write_file_in_place(path, "AAAA", 4), 0); /* missing */
	assert_int_equal(kernel.checkpoints, 1);
	assert_int_equal(write_file_in_place(path, "BBBB", 4), 0); /* in place */
	assert_int_equal(kernel.checkpoints, 1);
	assert_int_equal(write_file_in_place(path, "CCCCCC", 6), 0); /* resized */
	assert_int_equal(kernel.checkpoints, 2);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(truncate(path, 6), 0); /* sparse */
	assert_int_equal(write_file_in_place(path, "DDDDDD", 6), 0);
	assert_int_equal(kernel.checkpoints, 3);
	/* The new file is written, but GRUB cannot be told: an error. */
	unlink(path);
	kernel.checkpoint_errno = EPERM;
	assert_int_equal(write_file_in_place(path, "AAAA", 4), -EPERM);
	kernel.on = false;
	unlink(path);
}

static void test_fault_trace(void **unused)
{
	(void) unused;
	char path[256];
	snprintf(path, sizeof(path), "%s/traced", tmpdir);
	/* Tracing must not change the result. */
	setenv("KAIROS_FAULT_TRACE", "1", 1);
	assert_int_equal(write_file_atomic(path, "x", 1, 0644), 0);
	unsetenv("KAIROS_FAULT_TRACE");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_bounded_read),
		cmocka_unit_test(test_kill_at_every_point),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_fault_trace),
		cmocka_unit_test(test_checkpoint_without_the_ioctl),
		cmocka_unit_test(test_in_place_fallback_is_checkpointed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
