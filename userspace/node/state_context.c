/* SPDX-License-Identifier: Apache-2.0 */
#include "state_context.h"

#include "log.h"
#include "util.h"

int state_context_open(struct state_context *ctx, const struct state_options *o, bool lock)
{
	*ctx = (struct state_context) STATE_CONTEXT_INIT;
	const char *recovery = o->recovery_dir ? o->recovery_dir : o->state_dir ? NULL : RECOVERY_DIR_DEFAULT;
	int r = state_dir_open(&ctx->dir, o->state_dir ? o->state_dir : STATE_DIR_DEFAULT, recovery);
	if (r < 0)
		return r;
	if (lock && (r = state_dir_lock_wait(&ctx->dir, o->lock_wait_ms)) < 0)
		return r;

	r = boot_state_load(ctx->dir.path, &ctx->state);
	if (r == -ENOENT)
		return log_error_errno(r, "No boot state in %s (missing %s): install the node first", ctx->dir.path,
				       BOOT_STATE_FILE);
	if (r < 0)
		return log_error_errno(r,
				       "The boot state in %s is damaged; the node boots recovery. "
				       "Reinstall from recovery to repair it",
				       ctx->dir.path);
	return boot_record_read_json(o->boot_record, &ctx->record, &ctx->record_json);
}

void state_context_close(struct state_context *ctx)
{
	state_dir_close(&ctx->dir);
	json_decref(ctx->record_json);
	ctx->record_json = NULL;
}

enum boot_slot state_context_booted_slot(const struct state_context *ctx)
{
	return ctx->record.slot != BOOT_SLOT_NONE ? ctx->record.slot : BOOT_SLOT_ACTIVE;
}
