/* SPDX-License-Identifier: Apache-2.0 */
#include "hooks.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int run_one(const char *path, char *const env[])
{
	pid_t pid = fork();
	if (pid < 0)
		return log_error_errno(negative_errno(), "Failed to start hook %s: %m", path);
	if (pid == 0) {
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		execl(path, path, (char *) NULL);
		log_error_errno(negative_errno(), "Failed to run hook %s: %m", path);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return log_error_errno(negative_errno(), "Failed to wait for hook %s: %m", path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return log_error_errno(-ECANCELED, "Hook %s was killed by signal %d", path, WTERMSIG(status));
	return log_error_errno(-ECANCELED, "Hook %s failed with exit status %d", path, WEXITSTATUS(status));
}

static int only_hooks(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int hooks_run(const char *hooks_dir, const char *phase, char *const env[])
{
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s/%s.d", hooks_dir, phase) < 0)
		return -ENOMEM;
	struct dirent **names = NULL;
	int n = scandir(dir, &names, only_hooks, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : log_error_errno(negative_errno(), "Failed to list hooks in %s: %m", dir);

	int r = 0;
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;
		struct stat st;
		if (r == 0 && asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0)
			r = -ENOMEM;
		/* Only executables run: a README or a disabled (chmod -x) hook is skipped. */
		if (r == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
			log_info("Running %s hook %s", phase, names[i]->d_name);
			r = run_one(path, env);
		}
		free(names[i]);
	}
	free(names);
	return r;
}
