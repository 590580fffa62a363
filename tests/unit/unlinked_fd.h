/* SPDX-License-Identifier: Apache-2.0 */
/* For tests of files kept without a name (O_TMPFILE): the descriptor this
 * process holds on an unlinked file in dir, or -1, so a test can play the
 * disk that changes it. */
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline int unlinked_fd_in(const char *dir)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	struct dirent *e;
	int found = -1;
	while ((e = readdir(d))) {
		char link[300], target[512];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, dir, strlen(dir)) == 0 && strstr(target, "(deleted)"))
			found = atoi(e->d_name);
	}
	closedir(d);
	return found;
}
