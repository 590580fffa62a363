/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade upgrade --source REF: build the new image beside the
 * others on the state partition, then commit it as the new active slot (or
 * the recovery slot with --recovery) with one atomic rename of state.env.
 *
 * Order, and what a power cut at each step leaves:
 *   clean leftovers    temporaries of an earlier, interrupted run
 *   resolve            manifest and config only: a no-op upgrade fetches no layer
 *   anti-downgrade     an image older than the slot's is refused (install_age.h)
 *   pre-flight space   refuse before writing anything
 *   before hooks       a failure aborts here, nothing written
 *   build the image    images/.tmp-* -> images/<id>.squashfs (node/install_image.c):
 *                      a cut leaves a temporary or an unreferenced image,
 *                      removed next run
 *   kernel, initrd     images/<id>.vmlinuz, <id>.initrd copied out of the
 *                      image, where GRUB boots them from; same
 *   metadata           images/<id>.json, same
 *   boot menu          grub/grub.cfg replaced when this program's differs
 *                      (an older node's), durable and checkpointed
 *   COMMIT             state.env renamed into place: before it the old slot
 *                      map holds in full, after it the new one
 *   clean              the image that left the slots
 *   after hooks, reboot */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "corrupt_record.h"
#include "hooks.h"
#include "install_age.h"
#include "image_meta.h"
#include "install_image.h"
#include "durable.h"
#include "log.h"
#include "sanitize.h"
#include "pull.h"
#include "source_args.h"
#include "util.h"

struct upgrade_args {
	struct source_args src;
	struct state_options state;
	const char *hooks_dir;
	const char *oem_dir; /* a directory holding policy.json instead of COS_OEM */
	bool recovery, force, reboot, allow_downgrade;
};

static void help(void)
{
	printf("Usage: kairos-upgrade [upgrade] --source SOURCE [OPTIONS]\n"
	       "\n"
	       "Install SOURCE as the new active image: the current active becomes passive,\n"
	       "the old passive is removed, and the new image boots next with a limited\n"
	       "number of tries until it is confirmed (mark-good). With --recovery, replace\n"
	       "the recovery image instead. Nothing changes until the new image is complete\n"
	       "and verified; the switch is one atomic rename.\n"
	       "\n"
	       "%s"
	       "      --recovery          upgrade the recovery image; active and passive stay\n"
	       "      --force             reinstall an image that is already in the slot, and\n"
	       "                          upgrade even when booted from passive after a fallback\n"
	       "      --reboot            reboot into the new image when done\n"
	       "      --allow-downgrade   install SOURCE even when it is older than the image\n"
	       "                          it replaces (by its version label or created time)\n"
	       "      --hooks-dir DIR     run DIR/{before,after}-upgrade.d/* (" HOOKS_DIR_DEFAULT ")\n"
	       "      --oem-dir DIR       read the signature policy.json from DIR instead of "
	       "COS_OEM\n" STATE_OPTIONS_HELP "  -h, --help              show this help\n",
	       source_options_help);
}

static int parse_args(int argc, char **argv, struct upgrade_args *a)
{
	enum { ARG_RECOVERY = SOURCE_ARG_LAST, ARG_FORCE, ARG_REBOOT, ARG_HOOKS_DIR, ARG_ALLOW_DOWNGRADE, ARG_OEM_DIR };
	static const struct option options[] = {
		SOURCE_LONG_OPTIONS,
		{ "recovery", no_argument, NULL, ARG_RECOVERY },
		{ "force", no_argument, NULL, ARG_FORCE },
		{ "reboot", no_argument, NULL, ARG_REBOOT },
		{ "hooks-dir", required_argument, NULL, ARG_HOOKS_DIR },
		{ "allow-downgrade", no_argument, NULL, ARG_ALLOW_DOWNGRADE },
		{ "oem-dir", required_argument, NULL, ARG_OEM_DIR },
		STATE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	*a = (struct upgrade_args){ .hooks_dir = HOOKS_DIR_DEFAULT };
	source_args_init(&a->src);
	state_options_init(&a->state);
	optind = 0;
	int c, r;
	while ((c = getopt_long(argc, argv, "hs:", options, NULL)) >= 0) {
		if ((r = source_args_option(c, optarg, &a->src)) != 0) {
			if (r < 0)
				return r;
			continue;
		}
		if (state_options_option(c, optarg, &a->state))
			continue;
		switch (c) {
		case ARG_RECOVERY:
			a->recovery = true;
			break;
		case ARG_FORCE:
			a->force = true;
			break;
		case ARG_REBOOT:
			a->reboot = true;
			break;
		case ARG_HOOKS_DIR:
			a->hooks_dir = optarg;
			break;
		case ARG_ALLOW_DOWNGRADE:
			a->allow_downgrade = true;
			break;
		case ARG_OEM_DIR:
			a->oem_dir = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "Unexpected argument '%s' (see upgrade --help)", argv[optind]);
	if (!a->src.source)
		return log_error_errno(-EINVAL, "upgrade needs --source (see upgrade --help)");
	return 1;
}

static int run_hooks(const struct upgrade_args *a, const char *phase, const struct pull *img, enum boot_slot slot)
{
	_cleanup_free_ char *e_source = NULL, *e_digest = NULL, *e_slot = NULL;
	if (asprintf(&e_source, "KAIROS_SOURCE=%s", a->src.source) < 0 ||
	    asprintf(&e_digest, "KAIROS_DIGEST=%s", pull_digest(img)) < 0 ||
	    asprintf(&e_slot, "KAIROS_SLOT=%s", boot_slot_to_string(slot)) < 0)
		return -ENOMEM;
	char *env[] = { e_source, e_digest, e_slot, NULL };
	return hooks_run(a->hooks_dir, phase, env);
}

static int upgrade(struct upgrade_args *a)
{
	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	int r = state_context_open(&ctx, &a->state, true);
	if (r < 0)
		return r;
	const enum boot_slot slot = a->recovery ? BOOT_SLOT_RECOVERY : BOOT_SLOT_ACTIVE;
	const char *booted = ctx.record.image[0] ? ctx.record.image : NULL;

	if (a->recovery && (r = state_dir_mount_recovery(&ctx.dir, "/proc/cmdline")) < 0)
		return r;
	r = state_dir_clean(&ctx.dir, &ctx.state, booted);
	if (r < 0)
		return r;

	if (!a->recovery && boot_record_is_fallback(&ctx.record) && !a->force) {
		const char *why = ctx.record.why[0] ? ctx.record.why : NULL;
		return log_error_errno(-EPERM,
				       "This node is running passive because active could not boot (%s). An upgrade "
				       "now would push out the passive image it runs on. See 'kairos-upgrade status', "
				       "then use 'rollback' to keep this image, or retry with --force",
				       why ? why : "fallback");
	}

	_cleanup_(image_install_done) struct image_install in = { 0 };
	r = source_args_load_policy(&a->src, &ctx.dir, a->oem_dir);
	if (r < 0)
		return r;
	r = source_args_install_open(&a->src, &in);
	if (r < 0)
		return r;
	/* A recovery image verify found corrupt is rewritten even when the
	 * same image is asked for: that is the repair. */
	struct recovery_corrupt rc;
	bool corrupt = slot == BOOT_SLOT_RECOVERY && recovery_corrupt_applies(ctx.dir.path, in.id, &rc);
	if (streq(ctx.state.slots[slot].image, in.id) && !a->force && !corrupt) {
		sanitize_print_line(stdout, "%s (%s) is already the %s image; nothing to do (use --force to reinstall)",
				    pull_name(in.img), pull_digest(in.img), boot_slot_to_string(slot));
		return 0;
	}

	/* Before any layer byte: a replayed older image is refused whole. */
	r = image_install_check_age(&in, &ctx.dir, slot, ctx.state.slots[slot].image, a->allow_downgrade);
	if (r == 0)
		r = image_install_prepare(&in, &ctx.dir, slot, false);
	if (r == 0)
		r = run_hooks(a, "before-upgrade", in.img, slot);
	if (r == 0)
		r = image_install_write(&in, &ctx.state, booted);
	if (r < 0)
		return r;

	/* GRUB reads the recovery image from its own partition: flush that
	 * partition's journal before the commit names the image. */
	if (slot == BOOT_SLOT_RECOVERY && (r = checkpoint_for_bootloader(in.images_dir)) < 0)
		log_warning_errno(r,
				  "Could not flush the journal of %s for GRUB (%m): a power cut in the next "
				  "seconds may leave GRUB unable to read the new recovery image",
				  in.images_dir);
	r = slot == BOOT_SLOT_RECOVERY ? boot_state_install_recovery(&ctx.state, in.id)
				       : boot_state_install_active(&ctx.state, in.id);
	if (r == 0) /* what boot verifies the image against, in the same commit */
		r = image_meta_commit_verity(&ctx.state, slot, in.meta_path);
	if (r == 0)
		r = boot_state_save(ctx.dir.path, &ctx.state); /* THE commit point */
	image_install_release(&in); /* after the commit's checkpoint, or after a failed commit */
	if (r < 0) {
		(void) state_dir_clean(&ctx.dir, &ctx.state, booted);
		return log_error_errno(r, "The new image was not committed; the node is unchanged");
	}

	/* The corrupt copy is gone (replaced or no longer named): so is its record. */
	if (slot == BOOT_SLOT_RECOVERY && recovery_corrupt_clear(ctx.dir.path) < 0)
		log_warning("The recovery image is replaced, but its corrupt record could not be removed: remove "
			    "%s/" RECOVERY_CORRUPT_FILE " by hand",
			    ctx.dir.path);
	if (slot == BOOT_SLOT_RECOVERY)
		sanitize_print_line(stdout, "Recovery image is now %s (%s)", pull_name(in.img), pull_digest(in.img));
	else
		sanitize_print_line(stdout,
				    "Active image is now %s (%s): it boots next, with %u tries until it is confirmed; "
				    "passive is %.12s",
				    pull_name(in.img), pull_digest(in.img), ctx.state.tries_max,
				    ctx.state.slots[BOOT_SLOT_PASSIVE].image);
	/* The image that left the slots is now unreferenced (unless it is booted). */
	(void) state_dir_clean(&ctx.dir, &ctx.state, booted);
	if (run_hooks(a, "after-upgrade", in.img, slot) < 0)
		log_warning("The upgrade is committed, but an after-upgrade hook failed");

	if (a->reboot && slot == BOOT_SLOT_ACTIVE)
		return reboot_node("the new image");
	return 0;
}

int verb_upgrade(int argc, char **argv)
{
	struct upgrade_args a;
	int r = parse_args(argc, argv, &a);
	if (r <= 0)
		return r;
	r = upgrade(&a);
	source_args_done(&a.src);
	return r;
}
