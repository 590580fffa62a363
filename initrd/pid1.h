/* SPDX-License-Identifier: Apache-2.0 */
/* What kairos-boot does when it is the initramfs's /init (PID 1): the
 * kernel filesystems, kernel modules, and the hand-over to the real init. */
#pragma once

#include <stddef.h>

/* /proc, /sys, /dev (devtmpfs) and /run (tmpfs): nothing else mounts them. */
int pid1_mount_kernel_filesystems(void);

/* Load the modules named in list_path (one per line, in order; '#'
 * comments) from moddir (/lib/modules/$(uname -r)), each after the modules
 * it depends on per moddir/modules.dep. Loaded or built-in modules are
 * fine. Returns the number of modules that failed to load (each logged). */
int load_modules(const char *list_path, const char *moddir);

/* From modules.dep text, the line for module name ("virtio_blk" matches
 * "kernel/drivers/block/virtio_blk.ko.xz:", '-' and '_' are the same): the
 * module's path and its dependencies, in the order they must be loaded
 * (dependencies first). Pure. -ENOENT when the module is not listed. */
int modules_dep_resolve(const char *dep_text, const char *name, char ***ret_paths, size_t *ret_n);
void strv_free_n(char **v, size_t n);

/* Move /dev, /proc, /sys and /run into newroot, make it / and exec init.
 * Returns only on failure. */
int switch_root(const char *newroot, const char *init);

/* sync and reboot: the next boot gets the next slot. Does not return. */
__attribute__((noreturn)) void reboot_now(void);
