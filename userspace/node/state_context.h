/* SPDX-License-Identifier: Apache-2.0 */
/* What a verb that works on the node's state opens once: the state
 * directory (locked when it changes the state), the boot state and
 * kairos-boot's record of this boot. The options that say where these are
 * come from the command line (verbs/cli.h parses them). */
#pragma once

#include <stdbool.h>

#include "boot_record_read.h"
#include "boot_state.h"
#include "state_dir.h"

/* Where the state is, as the state verbs' shared options give it. */
struct state_options {
	const char *state_dir;
	const char *recovery_dir;
	const char *boot_record;
	bool json;             /* the verbs' output, not the state's: parsed with the rest */
	unsigned lock_wait_ms; /* how long state_context_open() waits for the state lock */
};

/* Everything a state verb works with, opened once. */
struct state_context {
	struct state_dir dir;
	struct boot_state state;
	struct boot_record record;
	json_t *record_json; /* the record as the file has it, for status --json; NULL without one */
};

/* Open the state directory, load the state (it must exist: a node without
 * one has not been installed) and the boot record; lock when changing. */
#define STATE_CONTEXT_INIT                                       \
	{                                                        \
		.dir.lock_fd = -1, .record.slot = BOOT_SLOT_NONE \
	}
int state_context_open(struct state_context *ctx, const struct state_options *o, bool lock);
/* Takes a pointer so it can be a cleanup: _cleanup_(state_context_close). */
void state_context_close(struct state_context *ctx);

/* The slot this node booted from, or active when no record says. */
enum boot_slot state_context_booted_slot(const struct state_context *ctx);
