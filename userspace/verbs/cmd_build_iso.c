/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade build-iso: the live ISO. The work is grub-mkrescue's and
 * xorriso's, driven by scripts/kairos-build-iso; this verb only finds that
 * script and hands it the arguments, with this very binary to pull with. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_build_iso.h"
#include "log.h"
#include "util.h"

#define BUILD_ISO_SCRIPT "kairos-build-iso"

/* $KAIROS_BUILD_ISO; else beside this binary: ../scripts/ in a checkout
 * (build/kairos-upgrade), ../lib/kairos/scripts/ where make install put it. */
static int find_script(const char *exe, char *buf, size_t size)
{
	const char *env = getenv("KAIROS_BUILD_ISO");
	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return access(buf, X_OK) == 0 ? 0 : log_error_errno(-errno, "KAIROS_BUILD_ISO=%s: %m", env);
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", exe);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	static const char *const places[] = { "../scripts", "../lib/kairos/scripts" };
	for (size_t i = 0; i < ELEMENTSOF(places); i++) {
		int n = snprintf(buf, size, "%s/%s/%s", dir, places[i], BUILD_ISO_SCRIPT);
		if (n > 0 && (size_t) n < size && access(buf, X_OK) == 0)
			return 0;
	}
	return log_error_errno(-ENOENT,
			       "%s not found beside %s (in ../scripts or ../lib/kairos/scripts); "
			       "set KAIROS_BUILD_ISO to its path",
			       BUILD_ISO_SCRIPT, exe);
}

int verb_build_iso(int argc, char **argv)
{
	if (argc < 1)
		return -EINVAL;
	char exe[PATH_MAX], script[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return log_error_errno(-errno, "Failed to find this program (/proc/self/exe): %m");
	exe[n] = '\0';
	int r = find_script(exe, script, sizeof(script));
	if (r < 0)
		return r;
	/* The script pulls with the kairos-upgrade that was asked for. */
	if (setenv("KAIROS_UPGRADE", exe, 1) < 0)
		return log_error_errno(-errno, "Failed to set KAIROS_UPGRADE: %m");
	argv[0] = script;
	execv(script, argv);
	return log_error_errno(-errno, "Failed to run %s: %m", script);
}
