/* SPDX-License-Identifier: Apache-2.0 */
/* write_all(), pwrite_all(), pread_full(): every short transfer and EINTR
 * retried, a write that makes no progress an error (not a spin), a read
 * short only at end of file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "durable.h"

/* The kernel's answers, faked: this test's pread() and pwrite() stand in for
 * libc's (the executable's symbols win), so EINTR, a transfer of a few bytes
 * and a write of nothing can be played deterministically. */
static struct {
	bool on;
	unsigned eintr; /* this many calls fail with EINTR first */
	size_t max;     /* then each moves at most this many bytes (0: no cap) */
	bool zero;      /* a write moves nothing and says so with 0 */
	unsigned calls;
} fake;

/* Whether this call fails with EINTR; else *n capped. */
static bool faked_eintr(size_t *n)
{
	fake.calls++;
	if (fake.eintr) {
		fake.eintr--;
		errno = EINTR;
		return true;
	}
	if (fake.max && *n > fake.max)
		*n = fake.max;
	return false;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fake.on && faked_eintr(&n))
		return -1;
	if (fake.on && fake.zero)
		return 0;
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (fake.on && faked_eintr(&n))
		return -1;
	return syscall(SYS_pread64, fd, buf, n, off);
}

static void play(unsigned eintr, size_t max, bool zero)
{
	fake = (typeof(fake)){ .on = true, .eintr = eintr, .max = max, .zero = zero };
}

static int setup(void **state)
{
	(void) state;
	memset(&fake, 0, sizeof(fake));
	return 0;
}

static void pattern(uint8_t *buf, size_t n, size_t from)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t) ((from + i) * 131 + 7);
}

static int memfd_with(size_t n)
{
	int fd = memfd_create("durable-io", MFD_CLOEXEC);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(n ? n : 1);
	assert_non_null(buf);
	pattern(buf, n, 0);
	assert_int_equal(write(fd, buf, n), (ssize_t) n);
	free(buf);
	return fd;
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void) sig;
	alarms++;
}

/* A pipe of one page, a reader slower than the writer and a timer whose
 * signal does not restart: write() returns after part of the buffer, or
 * EINTR, many times over; everything arrives once, in order. */
static void test_write_all_pipe_short_writes(void **state)
{
	(void) state;
	const size_t total = 256 * 1024;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		uint8_t got[1000], want[1000];
		size_t seen = 0;
		for (;;) {
			ssize_t n = read(p[0], got, sizeof(got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			pattern(want, (size_t) n, seen);
			if (memcmp(got, want, (size_t) n) != 0)
				_exit(2);
			seen += (size_t) n;
			if (seen % 4096 < (size_t) n)
				usleep(500); /* let the writer block on a full pipe */
		}
		_exit(seen == total ? 0 : 3);
	}
	close(p[0]);
	uint8_t *buf = malloc(total);
	assert_non_null(buf);
	pattern(buf, total, 0);

	struct sigaction sa = { .sa_handler = on_alarm }, old; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	struct itimerval every_ms = { .it_interval = { 0, 1000 }, .it_value = { 0, 1000 } }, off = { 0 };
	alarms = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &every_ms, NULL), 0);
	int r = write_all(p[1], buf, total);
	assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
	assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
	assert_int_equal(r, 0);
	assert_true(alarms > 0); /* the writes were interrupted */
	close(p[1]);
	free(buf);

	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_write_all_errors(void **state)
{
	(void) state;
	char buf[64] = { 0 };
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(full >= 0);
	assert_int_equal(write_all(full, buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(write_all(full, buf, 0), 0); /* nothing to write: no call */
	close(full);

	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	void (*was)(int) = signal(SIGPIPE, SIG_IGN);
	assert_int_equal(write_all(p[1], buf, sizeof(buf)), -EPIPE);
	signal(SIGPIPE, was);
	close(p[1]);
	assert_int_equal(write_all(-1, buf, sizeof(buf)), -EBADF);
}

static void test_pwrite_all(void **state)
{
	(void) state;
	int fd = memfd_with(0);
	uint8_t buf[100], back[105];
	pattern(buf, sizeof(buf), 0);

	/* one EINTR, then 3 bytes a call: all of it, at its offset */
	play(1, 3, false);
	assert_int_equal(pwrite_all(fd, buf, sizeof(buf), 5), 0);
	assert_int_equal(fake.calls, 1 + (100 + 2) / 3);
	fake.on = false;
	assert_int_equal(pread(fd, back, sizeof(back), 0), (ssize_t) sizeof(back));
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(back[i], 0); /* before the offset: a hole */
	assert_memory_equal(back + 5, buf, sizeof(buf));

	/* a write of nothing: -ENOSPC at once, not a loop */
	play(0, 0, true);
	assert_int_equal(pwrite_all(fd, buf, sizeof(buf), 0), -ENOSPC);
	assert_int_equal(fake.calls, 1);
	close(fd);
}

static void test_pread_full(void **state)
{
	(void) state;
	uint8_t buf[200], want[100];
	pattern(want, sizeof(want), 0);
	int fd = memfd_with(sizeof(want));

	/* EINTR and 7 bytes a call: everything up to end of file */
	play(2, 7, false);
	assert_int_equal(pread_full(fd, buf, 50, 10), 50);
	assert_memory_equal(buf, want + 10, 50);
	/* short only at end of file: 90 of the 200 asked for */
	assert_int_equal(pread_full(fd, buf, sizeof(buf), 10), 90);
	assert_memory_equal(buf, want + 10, 90);
	fake.on = false;

	assert_int_equal(pread_full(fd, buf, sizeof(buf), 100), 0);  /* at the end */
	assert_int_equal(pread_full(fd, buf, sizeof(buf), 5000), 0); /* past it */
	assert_int_equal(pread_full(fd, buf, 0, 0), 0);
	close(fd);
}

/* Offsets off_t cannot hold (or that the size would carry past it), no file,
 * a pipe: refused, the kernel's errno or ours, never a wrapped offset. */
static void test_positional_refusals(void **state)
{
	(void) state;
	int fd = memfd_with(10);
	uint8_t buf[2] = { 0 };
	assert_int_equal(pwrite_all(fd, buf, 1, UINT64_MAX), -EINVAL);
	assert_int_equal(pwrite_all(fd, buf, 2, (uint64_t) INT64_MAX), -EINVAL);
	assert_int_equal(pread_full(fd, buf, 1, UINT64_MAX), -EINVAL);
	assert_int_equal(pread_full(fd, buf, 2, (uint64_t) INT64_MAX), -EINVAL);
	close(fd);
	assert_int_equal(pwrite_all(-1, buf, 1, 0), -EBADF);
	assert_int_equal(pread_full(-1, buf, 1, 0), -EBADF);

	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pwrite_all(p[1], buf, 1, 0), -ESPIPE);
	assert_int_equal(pread_full(p[0], buf, 1, 0), -ESPIPE);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_write_all_pipe_short_writes, setup),
		cmocka_unit_test_setup(test_write_all_errors, setup),
		cmocka_unit_test_setup(test_pwrite_all, setup),
		cmocka_unit_test_setup(test_pread_full, setup),
		cmocka_unit_test_setup(test_positional_refusals, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
