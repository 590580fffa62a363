/* SPDX-License-Identifier: Apache-2.0 */
#include "pid1.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "assemble_root.h"
#include "durable.h"
#include "log.h"
#include "util.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif
#define MODULES_DEP_MAX (8 * 1024 * 1024)
#define MODULES_LIST_MAX 65536

int pid1_mount_kernel_filesystems(void)
{
	static const struct {
		const char *what, *where, *type, *data;
		unsigned long flags;
	} fs[] = {
		{ "proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "sysfs", "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "devtmpfs", "/dev", "devtmpfs", "mode=0755", MS_NOSUID },
		{ "tmpfs", "/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV },
	};
	for (size_t i = 0; i < ELEMENTSOF(fs); i++) {
		(void) mkdir(fs[i].where, 0755);
		if (mount(fs[i].what, fs[i].where, fs[i].type, fs[i].flags, fs[i].data) < 0 && errno != EBUSY)
			return log_error_errno(negative_errno(), "Failed to mount %s on %s: %m", fs[i].type,
					       fs[i].where);
	}
	/* An initramfs without /dev/console starts init with no stdio at all. */
	if (fcntl(STDERR_FILENO, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR | O_NOCTTY); /* no CLOEXEC: it may be 0..2 itself */
		if (fd >= 0) {
			for (int i = 0; i < 3; i++)
				(void) dup2(fd, i);
			if (fd > 2)
				close(fd);
		}
	}
	return 0;
}

void strv_free_n(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* "kernel/fs/overlayfs/overlay.ko.xz" is module "overlay". */
static bool path_is_module(const char *path, size_t len, const char *name)
{
	const char *base = path;
	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	size_t base_len = len - (size_t) (base - path);
	const char *ko = NULL;
	for (size_t i = 0; i + 3 <= base_len; i++)
		if (strncmp(base + i, ".ko", 3) == 0)
			ko = base + i;
	if (!ko)
		return false;
	size_t n = (size_t) (ko - base);
	if (n != strlen(name))
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = base[i] == '-' ? '_' : base[i], b = name[i] == '-' ? '_' : name[i];
		if (a != b)
			return false;
	}
	return true;
}

int modules_dep_resolve(const char *dep_text, const char *name, char ***ret_paths, size_t *ret_n)
{
	for (const char *line = dep_text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t) (end - line) : strlen(line);
		const char *colon = memchr(line, ':', len);
		if (colon && path_is_module(line, (size_t) (colon - line), name)) {
			/* "mod: a b c": modprobe loads c, b, a, then mod. */
			char **paths = calloc(len / 2 + 2, sizeof(char *));
			size_t n = 0;
			if (!paths)
				return -ENOMEM;
			const char *p = line + len;
			while (p > colon + 1) {
				const char *word_end = p;
				while (p > colon + 1 && p[-1] != ' ' && p[-1] != '\t')
					p--;
				if (word_end > p && !(paths[n++] = strndup(p, (size_t) (word_end - p)))) {
					strv_free_n(paths, n);
					return -ENOMEM;
				}
				while (p > colon + 1 && (p[-1] == ' ' || p[-1] == '\t'))
					p--;
			}
			if (!(paths[n++] = strndup(line, (size_t) (colon - line)))) {
				strv_free_n(paths, n);
				return -ENOMEM;
			}
			*ret_paths = paths;
			*ret_n = n;
			return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

static int load_module_file(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	size_t len = strlen(path);
	bool compressed = (len > 3 && streq(path + len - 3, ".xz")) || (len > 4 && streq(path + len - 4, ".zst")) ||
			  (len > 3 && streq(path + len - 3, ".gz"));
	/* The kernel decompresses (CONFIG_MODULE_DECOMPRESS): no xz/zstd in here. */
	if (syscall(SYS_finit_module, fd, "", compressed ? MODULE_INIT_COMPRESSED_FILE : 0) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static int load_module(const char *dep_text, const char *moddir, const char *name)
{
	char **paths = NULL;
	size_t n = 0;
	int r = modules_dep_resolve(dep_text, name, &paths, &n);
	if (r == -ENOENT) {
		/* Not a module in this kernel: built in, or a typo. */
		char builtin[PATH_MAX];
		snprintf(builtin, sizeof(builtin), "/sys/module/%s", name);
		if (access(builtin, F_OK) == 0)
			return 0;
		return log_warning_errno(r, "Module %s is not in %s/modules.dep", name, moddir);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to resolve module %s: %m", name);
	for (size_t i = 0; i < n && r == 0; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", moddir, paths[i]);
		r = load_module_file(path);
		if (r < 0)
			log_error_errno(r, "Failed to load %s (for %s): %m", path, name);
	}
	strv_free_n(paths, n);
	if (r == 0)
		log_debug("Loaded module %s", name);
	return r;
}

int load_modules(const char *list_path, const char *moddir)
{
	_cleanup_free_ char *list = malloc(MODULES_LIST_MAX + 1);
	size_t list_len = 0, dep_len = 0;
	if (!list)
		return log_error_errno(-ENOMEM, "Out of memory");
	int r = read_file_bounded(list_path, list, MODULES_LIST_MAX, &list_len);
	if (r == -ENOENT)
		return 0; /* nothing asked for: everything is built in */
	if (r < 0)
		return log_error_errno(r, "Failed to read %s: %m", list_path);
	list[list_len] = '\0';

	char dep_path[PATH_MAX];
	snprintf(dep_path, sizeof(dep_path), "%s/modules.dep", moddir);
	_cleanup_free_ char *dep = malloc(MODULES_DEP_MAX + 1);
	if (!dep)
		return log_error_errno(-ENOMEM, "Out of memory");
	r = read_file_bounded(dep_path, dep, MODULES_DEP_MAX, &dep_len);
	if (r < 0) {
		log_warning_errno(r, "Failed to read %s (%m): assuming every module is built in", dep_path);
		dep_len = 0;
	}
	dep[dep_len] = '\0';

	int failed = 0;
	char *save = NULL;
	for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		line[strcspn(line, " \t\r#")] = '\0';
		if (!*line)
			continue;
		if (load_module(dep, moddir, line) < 0)
			failed++;
	}
	return failed;
}

int switch_root(const char *newroot, const char *init)
{
	static const char *const moves[] = { "/dev", "/proc", "/sys", "/run" };
	for (size_t i = 0; i < ELEMENTSOF(moves); i++) {
		char target[PATH_MAX];
		snprintf(target, sizeof(target), "%s%s", newroot, moves[i]);
		if (mount(moves[i], target, NULL, MS_MOVE, NULL) < 0) {
			/* The new root's own (read-only) tree decides; without /run
			 * the record is lost, without /dev init copes. */
			log_warning("Failed to move %s to %s: %m, unmounting it", moves[i], target);
			(void) umount2(moves[i], MNT_DETACH);
		}
	}
	if (chdir(newroot) < 0)
		return log_error_errno(negative_errno(), "Failed to enter %s: %m", newroot);
	/* The initramfs stays in memory (rootfs cannot be unmounted); it is
	 * small, and freeing it is not worth a recursive delete in PID 1. */
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return log_error_errno(negative_errno(), "Failed to move %s to /: %m", newroot);
	if (chroot(".") < 0 || chdir("/") < 0)
		return log_error_errno(negative_errno(), "Failed to change root to %s: %m", newroot);

	log_info("Handing over to %s", init);
	execl(init, init, (char *) NULL);
	return log_error_errno(negative_errno(), "Failed to execute %s: %m", init);
}

void reboot_now(void)
{
	log_error("Rebooting, so that the next boot tries the next slot");
	sync();
	(void) reboot(RB_AUTOBOOT);
	/* Only reached without CAP_SYS_BOOT; PID 1 must not exit (panic). */
	for (;;)
		pause();
}
