/* SPDX-License-Identifier: Apache-2.0 */
/* Durable file writes. Every step that changes what survives a power cut goes
 * through here, and each such step is a fault point (see fault_point()). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The one place that loops over short transfers and EINTR. 0 / negative
 * errno. A write that takes no byte of a non-empty buffer is -ENOSPC: on
 * Linux a regular file or a block device with no room left says ENOSPC
 * itself, so a bare 0 can only mean the same (a device at its end); retrying
 * would spin forever, and -ENOSPC lets callers treat it as "disk full". */
int write_all(int fd, const void *buf, size_t n);
int pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
/* Bytes read into buf: n, or fewer only at end of file; negative errno.
 * Whether a short read is an error is the caller's to say. */
ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off);

/* Write temp (same directory) -> fsync -> rename over path -> fsync directory.
 * Before the rename the old file holds in full; after it the new one does. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Overwrite an existing file of exactly len bytes in place and fsync it, for
 * files GRUB rewrites in place (GRUB cannot allocate blocks, so the file must
 * keep its size and never be sparse). A missing, resized or sparse file is
 * replaced with write_file_atomic() instead, which allocates every block,
 * then checkpoint_for_bootloader(): GRUB must see the new file before it
 * writes there. */
int write_file_in_place(const char *path, const void *data, size_t len);

/* Read at most size bytes; *len gets the count. A file of size bytes or more
 * is read up to size, so callers pass one more than they accept to see overruns. */
int read_file_bounded(const char *path, void *buf, size_t size, size_t *len);

/* Copy from into a temp file beside to (".tmp-" prefix, so an interrupted copy
 * is a leftover the cleaners know), fsync it, rename it over to, fsync the
 * directory. Before the rename to is untouched; after it, complete. */
int copy_file_atomic(const char *from, const char *to, mode_t mode);

/* rename() plus fsync of the directory (both directories if they differ). */
int rename_durable(const char *from, const char *to);
/* mkdir -p (each missing directory with mode; no fsync: for /run and the
 * initramfs' own directories). */
int mkdir_parents(const char *path, unsigned mode);

/* fsync the directory that contains path. */
int fsync_parent_dir(const char *path);
int fsync_path(const char *path);

/* Write what the ext4 journal holds for the filesystem of path to its home
 * blocks (EXT4_IOC_CHECKPOINT, Linux 5.13+; before that FIFREEZE + FITHAW,
 * which flush the journal too). GRUB reads ext4 without replaying the
 * journal: after a power cut it would otherwise see the directory as it was
 * before the last renames, naming an old state.env whose blocks may already
 * hold other data (found by the in-VM power-cut test). A no-op where there is
 * no journal or no ext4; an error (EPERM without CAP_SYS_ADMIN) when the
 * journal could not be flushed. */
int checkpoint_for_bootloader(const char *path);

/* Fault injection for kill-point tests. With KAIROS_FAULT_TRACE=1 every point
 * is printed to stderr as "fault-point N NAME"; with KAIROS_FAULT_KILL_AT=N the
 * process SIGKILLs itself on reaching point N (1-based), as a power cut would
 * stop it. Costs one getenv() per point otherwise. */
void fault_point(const char *name);
