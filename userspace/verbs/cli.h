/* SPDX-License-Identifier: Apache-2.0 */
/* Options shared by the verbs that work on the state (status, mark-good,
 * mark-bad, rollback, boot-next, upgrade), and the context they open. */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "boot_record_read.h"
#include "boot_state.h"
#include "state_dir.h"

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

struct state_options {
	const char *state_dir;
	const char *recovery_dir;
	const char *boot_record;
	bool json;
	unsigned lock_wait_ms; /* how long state_context_open() waits for the state lock */
};

#define STATE_OPTIONS_HELP                                                                                 \
	"  --state-dir DIR     work on DIR instead of the mounted state partition (" STATE_DIR_DEFAULT ")\n" \
	"  --recovery-dir DIR  where recovery images live (default: the state directory's own\n"            \
	"                      with --state-dir, else " RECOVERY_DIR_DEFAULT ")\n"                            \
	"  --boot-record FILE  kairos-boot's record of this boot (" BOOT_RECORD_DEFAULT ")\n"

/* Everything a state verb works with, opened once. */
struct state_context {
	struct state_dir dir;
	struct boot_state state;
	struct boot_record record;
	json_t *record_json; /* the record as the file has it, for status --json; NULL without one */
};

/* The state options as getopt_long entries, for verbs with options of their
 * own (upgrade); state_options_option() takes one: 1 if ours, 0 if not. */
enum { STATE_ARG_STATE_DIR = 0x200, STATE_ARG_RECOVERY_DIR, STATE_ARG_BOOT_RECORD };
#define STATE_LONG_OPTIONS                                                      \
	{"state-dir", required_argument, NULL, STATE_ARG_STATE_DIR},               \
	{"recovery-dir", required_argument, NULL, STATE_ARG_RECOVERY_DIR},         \
	{"boot-record", required_argument, NULL, STATE_ARG_BOOT_RECORD}
void state_options_init(struct state_options *o);
int state_options_option(int c, const char *arg, struct state_options *o);

/* Parse the shared options plus none other; positional arguments are left in
 * argv[optind..]. Returns 0, 1 when --help was printed (help_text), or
 * -EINVAL (usage logged). */
int state_options_parse(int argc, char **argv, const char *help_text, bool allow_json, struct state_options *o);

/* Open the state directory, load the state (it must exist: a node without
 * one has not been installed) and the boot record; lock when changing. */
#define STATE_CONTEXT_INIT {.dir.lock_fd = -1, .record.slot = BOOT_SLOT_NONE}
int state_context_open(struct state_context *ctx, const struct state_options *o, bool lock);
/* Takes a pointer so it can be a cleanup: _cleanup_(state_context_close). */
void state_context_close(struct state_context *ctx);

/* The slot this node booted from, or active when no record says. */
enum boot_slot state_context_booted_slot(const struct state_context *ctx);

/* --reboot of upgrade and reset: through systemd when it runs (services stop
 * cleanly), else reboot(2). Returns only on failure, or under systemd. */
int reboot_node(const char *into);

/* The verbs (one file each). */
int verb_status(int argc, char **argv);
int verb_mark_good(int argc, char **argv);
int verb_mark_bad(int argc, char **argv);
int verb_rollback(int argc, char **argv);
int verb_boot_next(int argc, char **argv);
int verb_upgrade(int argc, char **argv);
int verb_reset(int argc, char **argv);
int verb_write_disk(int argc, char **argv);
