/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade rollback: passive becomes active again. */
#include <stdio.h>

#include "cli.h"
#include "log.h"
#include "util.h"

static const char help_text[] = "Usage: kairos-upgrade rollback [OPTIONS]\n"
				"\n"
				"Make the passive image the active one again (it stays confirmed), and the\n"
				"current active the passive one. Takes effect at the next boot.\n"
				"Refused when passive is empty or not confirmed good.\n"
				"\n" STATE_OPTIONS_HELP "  -h, --help          show this help\n";

int verb_rollback(int argc, char **argv)
{
	struct state_options o;
	int r = state_options_parse(argc, argv, help_text, false, &o);
	if (r != 0)
		return r < 0 ? r : 0;

	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	r = state_context_open(&ctx, &o, true);
	if (r < 0)
		return r;

	const struct slot_state *passive = &ctx.state.slots[BOOT_SLOT_PASSIVE];
	r = boot_state_rollback(&ctx.state);
	if (r == -ENOENT)
		return log_error_errno(r, "Passive is empty: there is no previous image to roll back to");
	if (r == -EINVAL) {
		log_error("Passive (image %.12s) is %s, not confirmed good: refusing to roll back onto an image "
			  "that has not booted successfully%s%s",
			  passive->image, slot_status_to_string(passive->status), passive->reason[0] ? ": " : "",
			  passive->reason);
		return r;
	}
	if (r == 0)
		r = boot_state_save(ctx.dir.path, &ctx.state); /* the commit point */
	if (r == 0)
		printf("Rolled back: active is now image %.12s (confirmed), passive is %.12s; reboot to use it\n",
		       ctx.state.slots[BOOT_SLOT_ACTIVE].image, ctx.state.slots[BOOT_SLOT_PASSIVE].image);
	return r;
}
