/* SPDX-License-Identifier: Apache-2.0 */
/* The boot sequence of kairos-boot mount and init (boot_sequence.c), and the
 * live boot (boot_live.c): from the kernel command line to a finished root.
 * One struct boot holds everything a boot touches and is passed to every
 * step; main.c owns it and the command line (struct boot_args). */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mount.h>
#include <time.h>

#include "assemble_root.h"
#include "boot_options.h"
#include "boot_record.h"
#include "boot_state.h"
#include "mount_plan.h"
#include "util.h"

/* Nothing on these partitions is a device node or a set-uid program of the
 * system's; nothing on state, recovery or the live medium is executed
 * (images are loop-mounted). Persistent paths (/opt, /home) may hold
 * programs: nosuid and nodev only, which its bind mounts inherit. */
#define DATA_FLAGS (MS_NOSUID | MS_NODEV)
#define NOEXEC_DATA_FLAGS (DATA_FLAGS | MS_NOEXEC)

/* What the command line says about where a boot finds and puts things. */
struct boot_args {
	const char *cmdline;        /* file with the kernel command line */
	const char *state_dir;      /* tests: a directory instead of the state partition */
	const char *recovery_dir;   /* tests: instead of the recovery partition */
	const char *persistent_dir; /* tests: instead of the persistent partition */
	const char *live_dir;       /* tests: instead of the live medium */
	const char *node_disks;     /* tests: more whole devices (loop) that count as the state partition's disk */
	const char *root;           /* where the finished root goes */
	const char *run_dir;        /* our scratch space, normally /run/kairos */
	const char *record;         /* boot.json */
};

/* Everything one boot touches. Large (the mount plan): static storage, not
 * the stack. */
struct boot {
	const struct boot_args *args;
	struct timespec start;                  /* the timings in the record count from here */
	struct boot_options opts, opts_cmdline; /* opts_cmdline: before an image's boot.conf */
	struct boot_state state;
	struct boot_record rec;
	struct mount_stack mounts;
	char state_dir[PATH_MAX], recovery_dir[PATH_MAX];
	char rw_dir[PATH_MAX], newroot[PATH_MAX], overlay_dir[PATH_MAX], persistent_dir[PATH_MAX];
	bool tried[BOOT_SLOT_COUNT];
	size_t persistent_depth; /* the mount stack before the persistent partition */
	size_t slot_depth;       /* the mount stack before the slot's image */
	char state_disk
		[256]; /* the disk of the state partition (and --node-disks): recovery and persistent only there */
	struct mount_plan plan;
	enum step_result step_results[ELEMENTSOF(((struct mount_plan *) 0)->steps)];
};

/* The whole boot, from command line to a finished root on args->root (a
 * directory). b->args and b->start set, the rest zero. Returns 0, or a
 * negative errno once every mount is undone and the record says why: the
 * caller reboots, so the next slot gets its turn. */
int boot_mount(struct boot *b);

/* kairos.live=LABEL (boot_live.c): the image of the live medium, the ISO. */
int boot_live(struct boot *b);

/* The steps the slot boot and the live boot share (boot_sequence.c). */

/* A fatal error: undo every mount, say why in the record, return r. */
__attribute__((format(printf, 3, 4))) int boot_fail(struct boot *b, int r, const char *fmt, ...);

/* Mount the filesystem labelled label on where; its device into devnode. */
int boot_mount_partition(struct boot *b, const char *label, unsigned wait_ms, const char *where, unsigned long flags,
			 char *devnode, size_t size);

/* The private scratch tmpfs and newroot on it; fatal errors recorded. */
int boot_open_scratch(struct boot *b);

/* /etc/kairos/boot.conf in the image mounted on newroot. */
void boot_read_boot_conf(struct boot *b);

/* The image mounted on newroot becomes the root on args->root. */
int boot_finish_root(struct boot *b, bool persistent);
