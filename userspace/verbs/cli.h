/* SPDX-License-Identifier: Apache-2.0 */
/* Options shared by the verbs that work on the state (status, mark-good,
 * mark-bad, rollback, boot-next, upgrade); the context they open is
 * node/state_context.h. */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "state_context.h"

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

#define STATE_OPTIONS_HELP                                                                                   \
	"  --state-dir DIR     work on DIR instead of the mounted state partition (" STATE_DIR_DEFAULT ")\n" \
	"  --recovery-dir DIR  where recovery images live (default: the state directory's own\n"             \
	"                      with --state-dir, else " RECOVERY_DIR_DEFAULT ")\n"                           \
	"  --boot-record FILE  kairos-boot's record of this boot (" BOOT_RECORD_DEFAULT ")\n"

/* The state options as getopt_long entries, for verbs with options of their
 * own (upgrade); state_options_option() takes one: 1 if ours, 0 if not. */
enum { STATE_ARG_STATE_DIR = 0x200, STATE_ARG_RECOVERY_DIR, STATE_ARG_BOOT_RECORD };
#define STATE_LONG_OPTIONS                                                           \
	{ "state-dir", required_argument, NULL, STATE_ARG_STATE_DIR },               \
		{ "recovery-dir", required_argument, NULL, STATE_ARG_RECOVERY_DIR }, \
	{                                                                            \
		"boot-record", required_argument, NULL, STATE_ARG_BOOT_RECORD        \
	}
void state_options_init(struct state_options *o);
int state_options_option(int c, const char *arg, struct state_options *o);

/* Parse the shared options plus none other; positional arguments are left in
 * argv[optind..]. Returns 0, 1 when --help was printed (help_text), or
 * -EINVAL (usage logged). */
int state_options_parse(int argc, char **argv, const char *help_text, bool allow_json, struct state_options *o);

/* --reboot of upgrade and reset: through systemd when it runs (services stop
 * cleanly), else reboot(2). Returns only on failure, or under systemd. */
int reboot_node(const char *into);

/* The verbs (one file each). */
int verb_status(int argc, char **argv);
int verb_mark_good(int argc, char **argv);
int verb_mark_bad(int argc, char **argv);
int verb_mark_corrupt(int argc, char **argv);
int verb_rollback(int argc, char **argv);
int verb_boot_next(int argc, char **argv);
int verb_upgrade(int argc, char **argv);
int verb_reset(int argc, char **argv);
int verb_write_disk(int argc, char **argv);
int verb_sign(int argc, char **argv);
int verb_boot_files(int argc, char **argv);
/* Returns the exit status (0, 1, 2, 3: see its --help) or a negative errno. */
int verb_verify(int argc, char **argv);
