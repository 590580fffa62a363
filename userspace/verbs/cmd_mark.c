/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade mark-good / mark-bad: confirm the booted image, or mark it
 * failed so that the next boot falls back. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "util.h"

/* How long mark-good waits for a running upgrade's lock (a pull of a big
 * image takes minutes); kairos-mark-good.service allows for it. */
#define MARK_GOOD_LOCK_WAIT_MS (15U * 60U * 1000U)

static const char good_help[] = "Usage: kairos-upgrade mark-good [OPTIONS]\n"
				"\n"
				"Confirm the image this node booted: it then boots without spending tries.\n"
				"Run by kairos-mark-good.service once boot-complete.target is reached.\n"
				"At a healthy boot of the active it also arms and clears the count of its\n"
				"boots that did not come up (after two in a row the next boot passes over it).\n"
				"Idempotent: confirming a confirmed image writes nothing more.\n"
				"\n" STATE_OPTIONS_HELP "  -h, --help          show this help\n";

static const char bad_help[] = "Usage: kairos-upgrade mark-bad [OPTIONS]\n"
			       "\n"
			       "Mark the image this node booted as failed, so that the next boot falls back\n"
			       "(active to passive, passive to recovery).\n"
			       "\n" STATE_OPTIONS_HELP "  -h, --help          show this help\n";

/* The slot that holds the booted image. The boot record names the image, and
 * the slots may have rotated since boot (an upgrade committed, no reboot yet):
 * then the image, not the slot name, says what booted. */
static enum boot_slot booted_image_slot(const struct state_context *ctx)
{
	const char *image = ctx->record.image;
	enum boot_slot slot = state_context_booted_slot(ctx);
	if (!image[0])
		return slot;
	if (streq(ctx->state.slots[slot].image, image))
		return slot;
	for (int i = 0; i < BOOT_SLOT_COUNT; i++)
		if (streq(ctx->state.slots[i].image, image))
			return (enum boot_slot) i;
	return BOOT_SLOT_NONE;
}

/* The booted active came up: its boots that did not are forgiven
 * (kairos_active_unconfirmed, which GRUB or kairos-boot counted before its
 * root was used), and the count is armed for this generation: GRUB and
 * kairos-boot count only a key that a mark-good knowing it wrote (an older
 * release's never clears it). Written only when the key is not already 0
 * for this generation: once to arm it, then after each boot that counted.
 * The counter's own writer: in place and fsynced, or replaced whole and
 * checkpointed for GRUB. */
static int clear_unconfirmed(struct state_context *ctx, enum boot_slot slot)
{
	if (slot != BOOT_SLOT_ACTIVE || (ctx->state.unconfirmed_armed && ctx->state.unconfirmed == 0))
		return 0;
	unsigned was = ctx->state.unconfirmed;
	bool armed = ctx->state.unconfirmed_armed;
	ctx->state.unconfirmed = 0;
	ctx->state.unconfirmed_armed = true;
	int r = boot_state_save_counter(ctx->dir.path, &ctx->state);
	if (r < 0)
		return r; /* logged */
	if (armed)
		printf("active: %u boot%s that did not come up cleared\n", was, was == 1 ? "" : "s");
	else
		printf("active: boots that do not come up are counted from now on\n");
	return 0;
}

static int mark(int argc, char **argv, bool good)
{
	struct state_options o;
	int r = state_options_parse(argc, argv, good ? good_help : bad_help, false, &o);
	if (r != 0)
		return r < 0 ? r : 0;

	/* Run at boot while an upgrade may hold the lock for minutes (a pull):
	 * losing to it would leave a healthy image unconfirmed. */
	if (good)
		o.lock_wait_ms = MARK_GOOD_LOCK_WAIT_MS;
	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	r = state_context_open(&ctx, &o, true);
	if (r < 0)
		return r;

	enum boot_slot slot = booted_image_slot(&ctx);
	if (slot == BOOT_SLOT_NONE)
		return log_error_errno(-ESTALE, "The booted image %.12s is no longer in any slot; nothing to mark",
				       ctx.record.image);
	const char *name = boot_slot_to_string(slot);
	struct slot_state *st = &ctx.state.slots[slot];
	if (!st->image[0])
		return log_error_errno(-ENOENT, "The %s slot is empty; nothing to mark", name);
	if (slot == BOOT_SLOT_RECOVERY && !good)
		return log_error_errno(-EINVAL, "Booted from recovery, which always boots; refusing to mark it bad");
	if (good && st->status == SLOT_STATUS_GOOD) {
		r = clear_unconfirmed(&ctx, slot);
		if (r == 0)
			printf("%s (image %.12s) is already confirmed good\n", name, st->image);
		return r;
	}
	/* A verdict stands: a rollback or mark-bad since this boot, or the
	 * image failing at boot, is not undone by a health check. */
	if (good && st->status == SLOT_STATUS_BAD)
		return log_error_errno(-EPERM,
				       "%s (image %.12s) is marked bad (%s): not confirming it; install or "
				       "roll back to a good image",
				       name, st->image, st->reason[0] ? st->reason : "no reason recorded");
	/* The root came from this image, the kernel from another (GRUB loaded
	 * a slot that then did not mount): its own kernel has never run. */
	if (good && ctx.record.kernel_image[0] && !streq(ctx.record.kernel_image, st->image)) {
		printf("%s (image %.12s) booted under the kernel of image %.12s: not confirming it until it boots "
		       "with its own kernel (at the next boot)\n",
		       name, st->image, ctx.record.kernel_image);
		return 0;
	}

	r = good ? boot_state_mark_good(&ctx.state, slot)
		 : boot_state_mark_bad(&ctx.state, slot, "marked bad by kairos-upgrade mark-bad");
	if (r == 0)
		r = boot_state_save(ctx.dir.path, &ctx.state); /* the commit point */
	if (r == 0 && good)
		r = clear_unconfirmed(&ctx, slot);
	if (r == 0) {
		struct boot_decision next;
		char why[256];
		boot_state_choose_slot(&ctx.state, &next);
		boot_decision_describe(&next, why, sizeof(why));
		printf("%s (image %.12s) marked %s; next boot: %s\n", name, st->image, good ? "good" : "bad", why);
	}
	return r;
}

int verb_mark_good(int argc, char **argv)
{
	return mark(argc, argv, true);
}
int verb_mark_bad(int argc, char **argv)
{
	return mark(argc, argv, false);
}
