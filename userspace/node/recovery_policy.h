/* SPDX-License-Identifier: Apache-2.0 */
/* Automated recovery (docs/DESIGN.md, "Reset from recovery"): whether a boot
 * of recovery resets the node by itself. Pure functions over what the boot
 * record, the command line, kairos.conf on COS_OEM and the slot map say, so
 * every rule is unit-tested; cmd_reset.c does the I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "boot_state.h"
#include "cmdline.h"

#define OEM_CONF_FILE "kairos.conf"

enum recovery_policy {
	RECOVERY_POLICY_UNSET, /* neither the command line nor kairos.conf says */
	RECOVERY_POLICY_MANUAL,
	RECOVERY_POLICY_AUTO,
};

/* kairos.recovery=auto|manual|off. 0 when absent (policy untouched), 1 when
 * set, -EINVAL for another value (logged; policy untouched). */
int recovery_policy_from_cmdline(const struct cmdline *c, enum recovery_policy *policy);
/* kairos.conf: "key=value" lines, '#' comments; recovery=auto|manual|off
 * (kairos.recovery= is accepted too). Same returns. */
int recovery_policy_from_conf(const char *text, enum recovery_policy *policy);

struct recovery_facts {
	enum boot_slot booted; /* from the boot record */
	const char *reason;    /* the record's reason: "fallback", "one-shot", "menu", ... */
	bool reset_requested;  /* kairos.reset=1 (GRUB's "reset from recovery") */
	enum recovery_policy policy;
	const char *policy_source; /* where the policy came from, for messages */
	unsigned auto_resets;      /* from state.env */
};

enum recovery_action {
	RECOVERY_NOT_IN_RECOVERY, /* nothing to do at all */
	RECOVERY_DECLINE,         /* stay in recovery; why says so */
	RECOVERY_RESET_REQUESTED, /* a person asked: a manual reset */
	RECOVERY_RESET_AUTO,      /* an automated reset, counted by the loop guard */
};

/* The decision of `reset --auto`, with one line saying why. */
enum recovery_action recovery_decide(const struct recovery_facts *f, char *why, size_t size);
const char *recovery_action_to_string(enum recovery_action action);

/* Whether mark-corrupt reboots the running active it has just committed bad
 * (a corrupt block): the same setting as automated recovery, but on unless
 * a person turned it off (manual or off): the next boot leaves the bad
 * image anyway, and a node running on one that returns EIO helps no one. */
bool recovery_policy_reboots_on_corrupt(enum recovery_policy policy);
