/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade boot-next SLOT: a one-shot choice for the next boot. */
#include <stdio.h>

#include "cli.h"
#include "log.h"
#include "util.h"

static const char help_text[] = "Usage: kairos-upgrade boot-next active|passive|recovery [OPTIONS]\n"
				"\n"
				"Boot SLOT at the next boot only (GRUB or kairos-boot clears the choice as it\n"
				"uses it). A one-shot boot spends no tries.\n"
				"\n" STATE_OPTIONS_HELP "  -h, --help          show this help\n";

int verb_boot_next(int argc, char **argv)
{
	struct state_options o;
	int r = state_options_parse(argc, argv, help_text, false, &o);
	if (r != 0)
		return r < 0 ? r : 0;
	if (optind + 1 != argc)
		return log_error_errno(-EINVAL, "boot-next takes one slot: active, passive or recovery");
	enum boot_slot slot = boot_slot_from_string(argv[optind]);
	if (slot == BOOT_SLOT_NONE)
		return log_error_errno(-EINVAL, "Unknown slot '%s': use active, passive or recovery", argv[optind]);

	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	r = state_context_open(&ctx, &o, true);
	if (r < 0)
		return r;
	if (slot != BOOT_SLOT_RECOVERY && !ctx.state.slots[slot].image[0])
		return log_error_errno(-ENOENT, "The %s slot is empty: nothing to boot there", argv[optind]);
	ctx.state.boot_next = slot;
	r = boot_state_save_counter(ctx.dir.path, &ctx.state);
	if (r == 0)
		printf("Next boot only: %s (image %.12s)\n", argv[optind], ctx.state.slots[slot].image);
	return r;
}
