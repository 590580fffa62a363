/* SPDX-License-Identifier: Apache-2.0 */
#include "recovery_policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot_record.h"
#include "keyvalue.h"
#include "log.h"
#include "util.h"

static int parse_policy(const char *what, const char *value, enum recovery_policy *policy)
{
	if (streq(value, "auto"))
		*policy = RECOVERY_POLICY_AUTO;
	else if (streq(value, "manual") || streq(value, "off"))
		*policy = RECOVERY_POLICY_MANUAL;
	else
		return log_error_errno(-EINVAL, "Ignoring %s=%s: not auto, manual or off", what, value);
	return 1;
}

int recovery_policy_from_cmdline(const struct cmdline *c, enum recovery_policy *policy)
{
	const char *v = cmdline_get(c, "kairos.recovery");
	return v ? parse_policy("kairos.recovery", v, policy) : 0;
}

struct policy_conf {
	enum recovery_policy *policy;
	int ret;
};

static void policy_conf_line(const char *key, const char *value, void *userdata)
{
	struct policy_conf *c = userdata;
	if (!value || (!streq(key, "recovery") && !streq(key, "kairos.recovery")))
		return; /* other keys and forms belong to other readers of kairos.conf */
	enum recovery_policy p = RECOVERY_POLICY_UNSET;
	int r = parse_policy(OEM_CONF_FILE " recovery", value, &p);
	if (r < 0) {
		if (c->ret == 0)
			c->ret = r;
		return;
	}
	*c->policy = p; /* the last line wins, as on the command line */
	c->ret = 1;
}

int recovery_policy_from_conf(const char *text, enum recovery_policy *policy)
{
	struct policy_conf c = { .policy = policy };
	int r = keyvalue_parse(text, policy_conf_line, &c);
	return r < 0 ? r : c.ret;
}

const char *recovery_action_to_string(enum recovery_action action)
{
	switch (action) {
	case RECOVERY_NOT_IN_RECOVERY:
		return "none";
	case RECOVERY_DECLINE:
		return "declined";
	case RECOVERY_RESET_REQUESTED:
	case RECOVERY_RESET_AUTO:
		return "reset";
	}
	return "unknown";
}

enum recovery_action recovery_decide(const struct recovery_facts *f, char *why, size_t size)
{
	if (f->booted != BOOT_SLOT_RECOVERY) {
		snprintf(why, size, "booted from %s, not recovery: nothing to heal", boot_slot_to_string(f->booted));
		return RECOVERY_NOT_IN_RECOVERY;
	}
	if (f->reset_requested) {
		snprintf(why, size,
			 "reset requested on the kernel command line (kairos.reset=1, GRUB's \"reset from "
			 "recovery\" entry)");
		return RECOVERY_RESET_REQUESTED;
	}
	if (f->policy != RECOVERY_POLICY_AUTO) {
		snprintf(why, size,
			 "automated recovery is off (%s): staying in recovery; heal with 'kairos-upgrade reset', or "
			 "set kairos.recovery=auto (kernel command line) or recovery=auto in " OEM_CONF_FILE
			 " on COS_OEM",
			 f->policy == RECOVERY_POLICY_MANUAL ? f->policy_source : "not set");
		return RECOVERY_DECLINE;
	}
	if (!f->reason || !streq(f->reason, BOOT_RECORD_REASON_FALLBACK)) {
		snprintf(why, size,
			 "recovery was chosen (%s), not reached by fallback: staying in recovery; heal with "
			 "'kairos-upgrade reset' when done",
			 f->reason && *f->reason ? f->reason : "unknown");
		return RECOVERY_DECLINE;
	}
	if (f->auto_resets >= RESET_AUTO_MAX) {
		snprintf(why, size,
			 "loop guard: %u automated resets since an active image was last confirmed (at most %d), and "
			 "the node fell back to recovery again: staying in recovery. Find out why the healed active "
			 "fails, then run 'kairos-upgrade reset' (or reset --source REF)",
			 f->auto_resets, RESET_AUTO_MAX);
		return RECOVERY_DECLINE;
	}
	snprintf(why, size,
		 "recovery reached by fallback with kairos.recovery=auto (%s): automated reset %u of at most %d",
		 f->policy_source, f->auto_resets + 1, RESET_AUTO_MAX);
	return RECOVERY_RESET_AUTO;
}

bool recovery_policy_reboots_on_corrupt(enum recovery_policy policy)
{
	return policy != RECOVERY_POLICY_MANUAL;
}
