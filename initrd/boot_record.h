/* SPDX-License-Identifier: Apache-2.0 */
/* /run/kairos/boot.json: what was booted and why (docs/DESIGN.md), for
 * `kairos-upgrade status`. Written by hand: a JSON library is not worth
 * linking statically for one flat object. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "boot_state.h"
#include "assemble_root.h"
#include "mount_plan.h"

#define BOOT_RECORD_FAILED_MAX BOOT_SLOT_COUNT

struct boot_failure {
	enum boot_slot slot;
	char image[IMAGE_ID_LEN + 1];
	char error[160];
};

struct boot_record {
	enum boot_slot slot; /* BOOT_SLOT_NONE when no root could be built (or live) */
	bool live;           /* the live medium's image booted (kairos.live=): "slot":"live" */
	char image[IMAGE_ID_LEN + 1];
	struct boot_decision decision; /* of the slot that booted */
	char why[256];                 /* one line; boot_decision_describe() unless GRUB decided otherwise */
	const char *counted_by;        /* who decided and counted: "grub" (kairos.counted=1) or "helper" */
	enum boot_slot fallback_from;  /* the slot first chosen, when another one booted */
	char kernel_image[IMAGE_ID_LEN + 1]; /* kairos.image=: whose kernel runs; "" without GRUB */
	struct boot_failure failed[BOOT_RECORD_FAILED_MAX];
	size_t n_failed;

	const char *persistent; /* "mounted", "missing", "failed", "refused" (another disk), "not-used" (recovery) */
	char persistent_device[128];
	char persistent_error[200]; /* why persistent paths are on tmpfs, "" when they are not */
	char state_device[128];
	const struct mount_plan *plan; /* the mounts made, with their results */
	const enum step_result *step_results; /* per plan step */

	char warnings[4][200]; /* what booted anyway but needs a person (a label found twice) */
	size_t n_warnings;

	long long start_to_state_ms, start_to_root_ms; /* -1: not reached */
	char error[256];                               /* why boot failed, "" otherwise */
};

void boot_record_init(struct boot_record *rec);
__attribute__((format(printf, 2, 3))) void boot_record_add_warning(struct boot_record *rec, const char *fmt, ...);
int boot_record_add_failure(struct boot_record *rec, enum boot_slot slot, const char *image, const char *error);
const char *boot_reason_to_string(enum boot_reason reason);

/* The JSON text (one line, ending in a newline). Pure: unit-tested. */
int boot_record_format(const struct boot_record *rec, char **ret);
/* Format and write atomically to path, creating its directory. */
int boot_record_write(const struct boot_record *rec, const char *path);
