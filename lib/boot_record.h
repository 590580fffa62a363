/* SPDX-License-Identifier: Apache-2.0 */
/* /run/kairos/boot.json: what was booted and why (docs/DESIGN.md). The one
 * contract between kairos-boot, which writes it in the initramfs, and
 * kairos-upgrade, which reads it (status, upgrade's fallback guard, reset's
 * recovery policy): the struct, the key names and the values both sides
 * write or compare are here, once. The writer is here too, written by hand:
 * a JSON library is not worth linking statically for one flat object. The
 * reader needs a whole JSON parser (any key order, any subset of keys, every
 * escape, and the object kept as it is for `status --json`), so it lives
 * above, with jansson: userspace/node/boot_record_read.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "boot_state.h"

#define BOOT_RECORD_PATH "/run/kairos/boot.json"

/* The keys, in the order the writer writes them. */
#define BOOT_RECORD_KEY_SLOT "slot"
#define BOOT_RECORD_KEY_IMAGE "image"
#define BOOT_RECORD_KEY_REASON "reason"
#define BOOT_RECORD_KEY_WHY "why"
#define BOOT_RECORD_KEY_TRIES_LEFT "tries_left"
#define BOOT_RECORD_KEY_COUNTED_BY "counted_by"
#define BOOT_RECORD_KEY_FALLBACK_FROM "fallback_from"
#define BOOT_RECORD_KEY_KERNEL_IMAGE "kernel_image"
#define BOOT_RECORD_KEY_VERITY "verity" /* the dm-verity table the root is read through, or null */
#define BOOT_RECORD_KEY_FAILED "failed" /* [{slot, image, error}] */
#define BOOT_RECORD_KEY_ERROR "error"   /* also of a failure and of persistent */
#define BOOT_RECORD_KEY_STATE_DEVICE "state_device"
#define BOOT_RECORD_KEY_PERSISTENT "persistent" /* {status, device, error, binds} */
#define BOOT_RECORD_KEY_STATUS "status"         /* of persistent and of a mount */
#define BOOT_RECORD_KEY_DEVICE "device"
#define BOOT_RECORD_KEY_BINDS "binds" /* [{path, status}] */
#define BOOT_RECORD_KEY_PATH "path"
#define BOOT_RECORD_KEY_OVERLAYS "overlays" /* [{path, status}] */
#define BOOT_RECORD_KEY_WARNINGS "warnings"
#define BOOT_RECORD_KEY_TIMINGS "timings_ms" /* {start_to_state, start_to_root} */
#define BOOT_RECORD_KEY_START_TO_STATE "start_to_state"
#define BOOT_RECORD_KEY_START_TO_ROOT "start_to_root"

/* "reason": boot_reason_to_string() of the decision, or "live". */
#define BOOT_RECORD_REASON_CONFIRMED "confirmed"
#define BOOT_RECORD_REASON_TRYING "trying"
#define BOOT_RECORD_REASON_FALLBACK "fallback"
#define BOOT_RECORD_REASON_ONE_SHOT "one-shot"
#define BOOT_RECORD_REASON_MENU "menu"
#define BOOT_RECORD_REASON_LAST_RESORT "last-resort"
/* "slot" and "reason" of a boot of the live medium's image (kairos.live=). */
#define BOOT_RECORD_LIVE "live"

/* "counted_by": who decided and spent the try. */
#define BOOT_RECORD_COUNTED_BY_GRUB "grub" /* kairos.counted=1 */
#define BOOT_RECORD_COUNTED_BY_HELPER "helper"

/* persistent "status". */
#define BOOT_RECORD_PERSISTENT_MOUNTED "mounted"
#define BOOT_RECORD_PERSISTENT_MISSING "missing"
#define BOOT_RECORD_PERSISTENT_FAILED "failed"
#define BOOT_RECORD_PERSISTENT_REFUSED "refused"   /* only on another disk than the state partition's */
#define BOOT_RECORD_PERSISTENT_NOT_USED "not-used" /* recovery, live, or no persistent paths */

/* A mount's "status". */
#define BOOT_RECORD_MOUNT_MOUNTED "mounted"
#define BOOT_RECORD_MOUNT_SEEDED "seeded" /* a bind whose data was created from the image just now */
#define BOOT_RECORD_MOUNT_SKIPPED "skipped"
#define BOOT_RECORD_MOUNT_NOT_MOUNTED "not mounted"

#define BOOT_RECORD_FAILED_MAX BOOT_SLOT_COUNT
#define BOOT_RECORD_MOUNTS_MAX 64 /* a mount plan's steps (initrd/mount_plan.h asserts it fits) */
#define BOOT_RECORD_PATH_MAX 256  /* a mounted path, as initrd/boot_options.h bounds it */
#define BOOT_RECORD_WARNINGS_MAX 4
#define BOOT_RECORD_REASON_MAX 32
#define BOOT_RECORD_VERITY_MAX 1100 /* "0 SECTORS verity " + initrd/dm_verity.h's DM_VERITY_TABLE_MAX */

struct boot_failure {
	enum boot_slot slot;
	char image[IMAGE_ID_LEN + 1];
	char error[160];
};

struct boot_record_mount {
	bool bind; /* a directory of the persistent partition; otherwise a tmpfs overlay */
	char path[BOOT_RECORD_PATH_MAX];
	const char *status; /* BOOT_RECORD_MOUNT_* */
};

/* The const char * fields point to the constants above (the reader maps a
 * value it does not know to NULL), or NULL: written as null. */
struct boot_record {
	enum boot_slot slot; /* BOOT_SLOT_NONE when no root could be built (or live) */
	bool live;           /* the live medium's image booted (kairos.live=): "slot":"live" */
	char image[IMAGE_ID_LEN + 1];
	/* Of the slot that booted: the writer writes reason and tries_left
	 * from it; the reader sets those two back. */
	struct boot_decision decision;
	/* "reason" as text. The writer ignores it (boot_record_reason());
	 * the reader keeps what the file says, so a reason this build does
	 * not know is still shown as it is. */
	char reason[BOOT_RECORD_REASON_MAX];
	char why[256];                       /* one line; boot_decision_describe() unless GRUB decided otherwise */
	const char *counted_by;              /* BOOT_RECORD_COUNTED_BY_* */
	enum boot_slot fallback_from;        /* the slot first chosen, when another one booted */
	char kernel_image[IMAGE_ID_LEN + 1]; /* kairos.image=: whose kernel runs; "" without GRUB */
	/* The dm-verity table of the device the root's image is read through
	 * ("0 SECTORS verity 1 DEV DEV ..."); "": unverified (no record). */
	char verity[BOOT_RECORD_VERITY_MAX];
	struct boot_failure failed[BOOT_RECORD_FAILED_MAX];
	size_t n_failed;

	const char *persistent; /* BOOT_RECORD_PERSISTENT_* */
	char persistent_device[128];
	char persistent_error[200]; /* why persistent paths are on tmpfs, "" when they are not */
	char state_device[128];
	struct boot_record_mount mounts[BOOT_RECORD_MOUNTS_MAX]; /* the mounts made, binds and overlays */
	size_t n_mounts;

	char warnings[BOOT_RECORD_WARNINGS_MAX][200]; /* what booted anyway but needs a person (a label found twice) */
	size_t n_warnings;

	long long start_to_state_ms, start_to_root_ms; /* -1: not reached */
	char error[256];                               /* why boot failed, "" otherwise */
};

void boot_record_init(struct boot_record *rec);
__attribute__((format(printf, 2, 3))) void boot_record_add_warning(struct boot_record *rec, const char *fmt, ...);
int boot_record_add_failure(struct boot_record *rec, enum boot_slot slot, const char *image, const char *error);
/* -E2BIG when the record holds BOOT_RECORD_MOUNTS_MAX already. */
int boot_record_add_mount(struct boot_record *rec, bool bind, const char *path, const char *status);

const char *boot_reason_to_string(enum boot_reason reason);
/* -EINVAL for a text that is not one of the BOOT_RECORD_REASON_* but live. */
int boot_reason_from_string(const char *s, enum boot_reason *ret);
/* The "reason" the writer writes: "live", the decision's, or NULL when
 * nothing booted. */
const char *boot_record_reason(const struct boot_record *rec);

/* The value of those below as the constant above, NULL for any other text. */
const char *boot_record_counted_by_from_string(const char *s);
const char *boot_record_persistent_from_string(const char *s);
const char *boot_record_mount_status_from_string(const char *s);

/* A record read back says it booted passive because active could not boot
 * (not by a person's choice): what upgrade refuses to push out. By the
 * reason's text, which only the reader sets. */
bool boot_record_is_fallback(const struct boot_record *rec);

/* The JSON text (one line, ending in a newline). Pure: unit-tested. */
int boot_record_format(const struct boot_record *rec, char **ret);
/* Format and write atomically to path, creating its directory. */
int boot_record_write(const struct boot_record *rec, const char *path);
