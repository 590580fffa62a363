/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade upgrade --source REF: build the new image beside the
 * others on the state partition, then commit it as the new active slot (or
 * the recovery slot with --recovery) with one atomic rename of state.env.
 *
 * Order, and what a power cut at each step leaves:
 *   clean leftovers    temporaries of an earlier, interrupted run
 *   resolve            manifest only: a no-op upgrade fetches no layer
 *   pre-flight space   refuse before writing anything
 *   before hooks       a failure aborts here, nothing written
 *   build the image    images/.tmp-* -> images/<id>.squashfs: a cut leaves a
 *                      temporary or an unreferenced image, removed next run
 *   metadata           images/<id>.json, same
 *   COMMIT             state.env renamed into place: before it the old slot
 *                      map holds in full, after it the new one
 *   clean              the image that left the slots
 *   after hooks, reboot */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hooks.h"
#include "image_meta.h"
#include "durable.h"
#include "log.h"
#include "sanitize.h"
#include "pull.h"
#include "source_args.h"
#include "util.h"

/* squashfs at a fast zstd level comes out about the size of the gzipped
 * layers; leave room for a worse ratio and the filesystem's own metadata. */
#define SPACE_MARGIN_PERCENT 20
#define SPACE_MARGIN_BYTES (16ULL << 20)

struct upgrade_args {
	struct source_args src;
	struct state_options state;
	const char *hooks_dir;
	bool recovery, force, reboot;
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
	       "      --hooks-dir DIR     run DIR/{before,after}-upgrade.d/* (" HOOKS_DIR_DEFAULT ")\n"
	       STATE_OPTIONS_HELP "  -h, --help              show this help\n",
	       source_options_help);
}

static int parse_args(int argc, char **argv, struct upgrade_args *a)
{
	enum { ARG_RECOVERY = SOURCE_ARG_LAST, ARG_FORCE, ARG_REBOOT, ARG_HOOKS_DIR };
	static const struct option options[] = {
		SOURCE_LONG_OPTIONS,
		{"recovery", no_argument, NULL, ARG_RECOVERY},
		{"force", no_argument, NULL, ARG_FORCE},
		{"reboot", no_argument, NULL, ARG_REBOOT},
		{"hooks-dir", required_argument, NULL, ARG_HOOKS_DIR},
		STATE_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	*a = (struct upgrade_args){.hooks_dir = HOOKS_DIR_DEFAULT};
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

static void format_mib(uint64_t bytes, char buf[32]) { snprintf(buf, 32, "%.1f MiB", (double)bytes / 1048576.0); }

/* Refuse before writing anything when the image cannot fit. */
static int check_space(const char *dir, uint64_t layers_bytes)
{
	/* layers_bytes is the manifest's claim: saturate, a wrap would pass the check */
	uint64_t need = add_sat_u64(add_sat_u64(layers_bytes, mul_sat_u64(layers_bytes / 100, SPACE_MARGIN_PERCENT)),
				    SPACE_MARGIN_BYTES),
		 free_bytes;
	int r = state_dir_free_bytes(dir, &free_bytes);
	if (r < 0)
		return r;
	if (free_bytes >= need)
		return 0;
	char n[32], f[32];
	format_mib(need, n);
	format_mib(free_bytes, f);
	return log_error_errno(-ENOSPC,
			       "Not enough space on the partition holding %s: the new image needs about %s, %s are "
			       "free. Nothing was changed. Free space there (unused images are removed "
			       "automatically) or use a smaller image",
			       dir, n, f);
}

static int write_meta(const struct state_context *ctx, enum boot_slot slot, const struct pull *img, const char *id,
		      const char *source, const char *image_path)
{
	struct stat st;
	char now[32];
	image_meta_now(now);
	struct image_meta meta = {
		.source = (char *)source,
		.digest = (char *)pull_digest(img),
		.size = stat(image_path, &st) == 0 ? (uint64_t)st.st_size : 0,
		.installed = now,
	};
	_cleanup_free_ char *path = state_dir_meta_path(&ctx->dir, slot, id);
	return path ? image_meta_write(path, &meta) : -ENOMEM;
}

static int run_hooks(const struct upgrade_args *a, const char *phase, const struct pull *img, enum boot_slot slot)
{
	_cleanup_free_ char *e_source = NULL, *e_digest = NULL, *e_slot = NULL;
	if (asprintf(&e_source, "KAIROS_SOURCE=%s", a->src.source) < 0 ||
	    asprintf(&e_digest, "KAIROS_DIGEST=%s", pull_digest(img)) < 0 ||
	    asprintf(&e_slot, "KAIROS_SLOT=%s", boot_slot_to_string(slot)) < 0)
		return -ENOMEM;
	char *env[] = {e_source, e_digest, e_slot, NULL};
	return hooks_run(a->hooks_dir, phase, env);
}

static void pull_freep(struct pull **p) { pull_free(*p); }

/* The image may already be on its partition (--force of a slot's image, or
 * passive's image made active again): the builder's rename replaces it
 * before the commit. GRUB reads ext4 without replaying the journal, so after
 * a power cut it may still see the old directory entry: the old file stays
 * linked under a temporary name, its blocks never reused, until the journal
 * is checkpointed. *ret: that name, NULL when there was no file. */
static int keep_old_image(const char *images_dir, const char *image_path, const char *id, char **ret)
{
	*ret = NULL;
	if (access(image_path, F_OK) < 0)
		return 0;
	_cleanup_free_ char *keep = NULL;
	if (asprintf(&keep, "%s/.tmp-keep-%s.squashfs", images_dir, id) < 0)
		return -ENOMEM;
	(void)unlink(keep);
	fault_point("link");
	int r = link(image_path, keep) < 0 ? negative_errno() : fsync_parent_dir(keep);
	if (r < 0) {
		(void)unlink(keep);
		return log_error_errno(r, "Failed to keep %s until the commit: %m", image_path);
	}
	*ret = TAKE_PTR(keep);
	return 0;
}

/* Once GRUB sees the directory as Linux does, the old file can go. */
static void release_old_image(const char *images_dir, const char *keep)
{
	if (!keep)
		return;
	int r = checkpoint_for_bootloader(images_dir);
	if (r < 0)
		log_warning_errno(r, "Could not flush the journal of %s for GRUB (%m): a power cut in the next seconds "
				     "may leave GRUB reading a replaced image",
				  images_dir);
	if (unlink(keep) < 0 && errno != ENOENT)
		log_warning_errno(negative_errno(), "Failed to remove %s: %m (the next upgrade removes it)", keep);
}

static int upgrade(const struct upgrade_args *a)
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

	struct build_options build;
	r = source_args_build_options(&a->src, &build);
	if (r < 0)
		return r;
	if (!build_options_grub_bootable(&build))
		return log_error_errno(-EINVAL, "--compression %s would make an image GRUB cannot boot from "
						"(GRUB 2.06 reads gzip and xz squashfs only); use gzip[:LEVEL] or xz",
				       a->src.compression);
	build.require_boot = true;
	_cleanup_(pull_freep) struct pull *img = NULL;
	r = pull_open(a->src.source, &a->src.pull, &img);
	if (r < 0)
		return r;
	const char *id = pull_digest(img) + strlen("sha256:");
	if (streq(ctx.state.slots[slot].image, id) && !a->force) {
		sanitize_print_line(stdout, "%s (%s) is already the %s image; nothing to do (use --force to reinstall)",
				    pull_name(img), pull_digest(img), boot_slot_to_string(slot));
		return 0;
	}

	const char *dir = slot == BOOT_SLOT_RECOVERY ? ctx.dir.recovery_path : ctx.dir.path;
	_cleanup_free_ char *image_path = state_dir_image_path(&ctx.dir, slot, id);
	_cleanup_free_ char *images_dir = NULL;
	if (!image_path || asprintf(&images_dir, "%s/images", dir) < 0)
		return -ENOMEM;
	if (mkdir(images_dir, 0755) < 0 && errno != EEXIST)
		return log_error_errno(negative_errno(), "Failed to create %s: %m", images_dir);
	r = check_space(images_dir, pull_layer_bytes(img));
	if (r == 0)
		r = run_hooks(a, "before-upgrade", img, slot);
	if (r < 0)
		return r;

	_cleanup_free_ char *keep = NULL;
	r = keep_old_image(images_dir, image_path, id, &keep);
	if (r < 0)
		return r;
	struct build_stats stats = {0};
	r = pull_build(img, image_path, &build, &stats);
	if (r == -ENOSPC)
		log_error("The partition holding %s is full; nothing was changed and the partial image was removed. "
			  "Free some space and retry",
			  images_dir);
	if (r == 0)
		r = write_meta(&ctx, slot, img, id, a->src.source, image_path);
	if (r < 0) {
		/* Whatever the builder or the metadata left is unreferenced: drop it now. */
		release_old_image(images_dir, keep);
		(void)state_dir_clean(&ctx.dir, &ctx.state, booted);
		return r;
	}

	/* GRUB reads the recovery image from its own partition: flush that
	 * partition's journal before the commit names the image. */
	if (slot == BOOT_SLOT_RECOVERY && (r = checkpoint_for_bootloader(images_dir)) < 0)
		log_warning_errno(r, "Could not flush the journal of %s for GRUB (%m): a power cut in the next "
				     "seconds may leave GRUB unable to read the new recovery image",
				  images_dir);
	r = slot == BOOT_SLOT_RECOVERY ? boot_state_install_recovery(&ctx.state, id)
				       : boot_state_install_active(&ctx.state, id);
	if (r == 0)
		r = boot_state_save(ctx.dir.path, &ctx.state); /* THE commit point */
	release_old_image(images_dir, keep); /* after the commit's checkpoint, or after a failed commit */
	if (r < 0) {
		(void)state_dir_clean(&ctx.dir, &ctx.state, booted);
		return log_error_errno(r, "The new image was not committed; the node is unchanged");
	}

	if (slot == BOOT_SLOT_RECOVERY)
		sanitize_print_line(stdout, "Recovery image is now %s (%s)", pull_name(img), pull_digest(img));
	else
		sanitize_print_line(stdout,
				    "Active image is now %s (%s): it boots next, with %u tries until it is confirmed; "
				    "passive is %.12s",
				    pull_name(img), pull_digest(img), ctx.state.tries_max,
				    ctx.state.slots[BOOT_SLOT_PASSIVE].image);
	/* The image that left the slots is now unreferenced (unless it is booted). */
	(void)state_dir_clean(&ctx.dir, &ctx.state, booted);
	if (run_hooks(a, "after-upgrade", img, slot) < 0)
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
	return upgrade(&a);
}
