/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sanitize.h"

static const char *program = "kairos";
static enum log_level max_level = LOG_LEVEL_INFO;
static int kmsg_fd = -1;

void log_set_program(const char *name)
{
	program = name;
}
void log_set_max_level(enum log_level level)
{
	max_level = level;
}
void log_set_kmsg_fd(int fd)
{
	kmsg_fd = fd;
}

int log_full_errno(enum log_level level, int error, const char *fmt, ...)
{
	if (level > max_level)
		return error < 0 ? error : -error;

	int saved = errno;
	if (error != 0)
		errno = error < 0 ? -error : error;

	char raw[2048], msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Messages name things from the network, images and disks: one line,
	 * nothing a terminal (or the console kairos-boot writes to) acts on. */
	sanitize_to(msg, sizeof(msg), raw);

	const char *prefix = level <= LOG_LEVEL_ERROR ? "error: " : level == LOG_LEVEL_WARNING ? "warning: " : "";
	fprintf(stderr, "%s: %s%s\n", program, prefix, msg);
	if (kmsg_fd >= 0)
		dprintf(kmsg_fd, "<%d>%s: %s%s\n", (int) level, program, prefix, msg);

	errno = saved;
	return error < 0 ? error : -error;
}
