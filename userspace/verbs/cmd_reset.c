/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade reset: heal a node from recovery. Only when booted from
 * recovery: the recovery image (or --source) becomes the active image again,
 * passive is emptied, the recovery image is never written. With --auto it is
 * kairos-recovery.service deciding whether to do so by itself (see
 * recovery_policy.h and docs/DESIGN.md, "Reset from recovery").
 *
 * Order, and what a power cut at each step leaves (every durable step goes
 * through lib/durable.c and is a fault point):
 *   clean leftovers    temporaries of an interrupted run
 *   copy the image     images/.tmp-copy* -> images/<id>.squashfs on the state
 *                      partition (--source: built there, node/install_image.c):
 *                      the old map holds, recovery boots again
 *   kernel, initrd     images/<id>.vmlinuz, <id>.initrd out of the copy, and
 *                      grub/grub.cfg brought up to date, same
 *   metadata           images/<id>.json, same
 *   wipe persistent    --wipe-persistent only: before the commit, so that a
 *                      rerun from recovery finishes it
 *   COMMIT             state.env renamed into place
 *   counter            fresh tries, no one-shot choice (after the commit: a
 *                      stale counter already means fresh tries)
 *   clean              the images that left the slots
 *   reboot */
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cmdline.h"
#include "durable.h"
#include "grub_cfg.h"
#include "image_meta.h"
#include "install_age.h"
#include "install_image.h"
#include "oem_conf.h"
#include "persistent_wipe.h"
#include "log.h"
#include "sanitize.h"
#include "pull.h"
#include "recovery_policy.h"
#include "source_args.h"
#include "util.h"

#define LABEL_WAIT_MS 5000

struct reset_args {
	struct source_args src;
	struct state_options state;
	const char *cmdline;        /* kernel command line file */
	const char *oem_dir;        /* a directory holding kairos.conf instead of COS_OEM */
	const char *persistent_dir; /* wipe this directory's contents instead of the partition */
	const char *persistent_dev; /* the persistent partition's device */
	bool wipe_persistent, reboot, automated, allow_downgrade;
};

static void help(void)
{
	printf("Usage: kairos-upgrade reset [OPTIONS]\n"
	       "\n"
	       "Heal this node from recovery: make the recovery image (or --source) the\n"
	       "active image again, as a new install confirmed at its first healthy boot,\n"
	       "and empty passive. The recovery image is never changed; persistent data is\n"
	       "kept unless --wipe-persistent. Only when booted from recovery (pick\n"
	       "\"recovery\" in the GRUB menu, or 'kairos-upgrade boot-next recovery').\n"
	       "A power cut at any step leaves recovery bootable; run it again to finish.\n"
	       "\n"
	       "      --wipe-persistent   recreate the persistent partition (all its data is lost)\n"
	       "      --reboot            reboot into the healed active when done\n"
	       "      --allow-downgrade   with --source: install it even when it is older than\n"
	       "                          the active image it replaces\n"
	       "      --auto              as kairos-recovery.service: reset only when recovery was\n"
	       "                          reached by fallback with kairos.recovery=auto (or asked\n"
	       "                          for with kairos.reset=1), at most %d times until an\n"
	       "                          active image is confirmed; else say why and stay\n"
	       "      --cmdline FILE      kernel command line (default /proc/cmdline)\n"
	       "      --oem-dir DIR       read " OEM_CONF_FILE " from DIR instead of COS_OEM\n"
	       "      --persistent-dir DIR    with --wipe-persistent: empty DIR instead of\n"
	       "                          recreating the partition (tests, offline work)\n"
	       "      --persistent-device DEV the persistent partition (default: by its label)\n"
	       "\n"
	       "Without --source the image comes from the recovery partition (no network).\n"
	       "%s" STATE_OPTIONS_HELP "  -h, --help              show this help\n",
	       RESET_AUTO_MAX, source_options_help);
}

static int parse_args(int argc, char **argv, struct reset_args *a)
{
	enum {
		ARG_WIPE = SOURCE_ARG_LAST,
		ARG_REBOOT,
		ARG_AUTO,
		ARG_CMDLINE,
		ARG_OEM_DIR,
		ARG_PERSISTENT_DIR,
		ARG_PERSISTENT_DEV,
		ARG_ALLOW_DOWNGRADE,
	};
	static const struct option options[] = {
		SOURCE_LONG_OPTIONS,
		{ "wipe-persistent", no_argument, NULL, ARG_WIPE },
		{ "reboot", no_argument, NULL, ARG_REBOOT },
		{ "auto", no_argument, NULL, ARG_AUTO },
		{ "cmdline", required_argument, NULL, ARG_CMDLINE },
		{ "oem-dir", required_argument, NULL, ARG_OEM_DIR },
		{ "persistent-dir", required_argument, NULL, ARG_PERSISTENT_DIR },
		{ "persistent-device", required_argument, NULL, ARG_PERSISTENT_DEV },
		{ "allow-downgrade", no_argument, NULL, ARG_ALLOW_DOWNGRADE },
		STATE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	*a = (struct reset_args){ .cmdline = "/proc/cmdline" };
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
		case ARG_WIPE:
			a->wipe_persistent = true;
			break;
		case ARG_REBOOT:
			a->reboot = true;
			break;
		case ARG_AUTO:
			a->automated = true;
			break;
		case ARG_CMDLINE:
			a->cmdline = optarg;
			break;
		case ARG_OEM_DIR:
			a->oem_dir = optarg;
			break;
		case ARG_PERSISTENT_DIR:
			a->persistent_dir = optarg;
			break;
		case ARG_ALLOW_DOWNGRADE:
			a->allow_downgrade = true;
			break;
		case ARG_PERSISTENT_DEV:
			a->persistent_dev = optarg;
			break;
		case 'h':
			help();
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "Unexpected argument '%s' (see reset --help)", argv[optind]);
	if (a->automated && a->wipe_persistent)
		return log_error_errno(-EINVAL,
				       "--auto never wipes persistent data; run reset --wipe-persistent by hand");
	if (a->allow_downgrade && !a->src.source)
		return log_error_errno(-EINVAL,
				       "--allow-downgrade goes with --source: the recovery image is never refused");
	return 1;
}

/* Like state_context_open(), but a damaged or missing state.env is what
 * recovery is for: start from an empty map (the reset writes a whole one). */
static int open_context(struct state_context *ctx, const struct state_options *o, bool *state_lost)
{
	*ctx = (struct state_context) STATE_CONTEXT_INIT;
	const char *recovery = o->recovery_dir ? o->recovery_dir : o->state_dir ? NULL : RECOVERY_DIR_DEFAULT;
	int r = state_dir_open(&ctx->dir, o->state_dir ? o->state_dir : STATE_DIR_DEFAULT, recovery);
	if (r < 0)
		return r;
	if ((r = state_dir_lock(&ctx->dir)) < 0)
		return r;
	r = boot_state_load(ctx->dir.path, &ctx->state);
	*state_lost = r == -ENOENT || r == -EBADMSG;
	if (*state_lost)
		log_warning("The boot state in %s is %s: the reset writes a whole new one", ctx->dir.path,
			    r == -ENOENT ? "missing" : "damaged");
	else if (r < 0)
		return r;
	return boot_record_read(o->boot_record, &ctx->record);
}

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* /run/kairos/recovery.json beside the boot record: what the automation did
 * this boot, for status. */
static void write_outcome(const struct reset_args *a, const char *action, const char *why, unsigned auto_resets)
{
	_cleanup_free_ char *copy = strdup(a->state.boot_record), *path = NULL;
	if (!copy || asprintf(&path, "%s/recovery.json", dirname(copy)) < 0)
		return;
	json_t *o = json_pack("{s:s, s:s, s:i, s:i}", "action", action, "why", why, "auto_resets", (int) auto_resets,
			      "auto_resets_max", RESET_AUTO_MAX);
	_cleanup_free_ char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text || write_file_atomic(path, text, strlen(text), 0644) < 0)
		log_warning("Cannot record the outcome in %s", path);
}

/* Before the commit, so that a rerun from recovery finishes it. */
static int wipe_persistent(const struct reset_args *a, const struct state_dir *sd, const struct cmdline *c)
{
	if (a->persistent_dir)
		return persistent_wipe_dir(a->persistent_dir);
	const char *label = cmdline_get(c, "kairos.persistent_label");
	return persistent_wipe_partition(sd, a->persistent_dev, label ? label : "COS_PERSISTENT", LABEL_WAIT_MS);
}

/* The image that becomes active, on the state partition: id gets its id. */
static int place_image(const struct reset_args *a, const struct state_context *ctx, char id[IMAGE_ID_LEN + 1],
		       const char **source_name)
{
	if (a->src.source) {
		_cleanup_(image_install_done) struct image_install in = { 0 };
		const char *booted = ctx->record.image[0] ? ctx->record.image : NULL;
		_cleanup_(source_args_done) struct source_args src = a->src;
		int r = source_args_load_policy(&src, &ctx->dir, a->oem_dir);
		if (r == 0)
			r = source_args_install_open(&src, &in);
		/* Against the active image it replaces, not the recovery floor:
		 * see docs/DESIGN.md, "Anti-downgrade". */
		if (r == 0)
			r = image_install_check_age(&in, &ctx->dir, BOOT_SLOT_ACTIVE,
						    ctx->state.slots[BOOT_SLOT_ACTIVE].image, a->allow_downgrade);
		if (r == 0)
			r = image_install_prepare(&in, &ctx->dir, BOOT_SLOT_ACTIVE, true);
		if (r == 0)
			r = image_install_write(&in, &ctx->state, booted);
		if (r < 0)
			return r;
		snprintf(id, IMAGE_ID_LEN + 1, "%s", in.id);
		*source_name = a->src.source;
		return 0;
	}

	/* The recovery slot's image; with the map lost, the one that booted. */
	const char *rid = ctx->state.slots[BOOT_SLOT_RECOVERY].image;
	_cleanup_free_ char *src = rid[0] ? state_dir_image_path(&ctx->dir, BOOT_SLOT_RECOVERY, rid) : NULL;
	if (!src || !file_exists(src)) {
		rid = ctx->record.image;
		free(src);
		src = rid[0] ? state_dir_image_path(&ctx->dir, BOOT_SLOT_RECOVERY, rid) : NULL;
	}
	if (!src || !file_exists(src))
		return log_error_errno(
			-ENOENT,
			"No recovery image found in %s/images (neither the recovery slot's nor the booted "
			"one): reset from a registry with --source REF",
			ctx->dir.recovery_path);
	snprintf(id, IMAGE_ID_LEN + 1, "%s", rid);
	*source_name = "the recovery image";
	_cleanup_free_ char *dst = NULL, *meta_path = NULL, *images_dir = NULL;
	dst = state_dir_image_path(&ctx->dir, BOOT_SLOT_ACTIVE, id);
	meta_path = state_dir_meta_path(&ctx->dir, BOOT_SLOT_ACTIVE, id);
	if (!dst || !meta_path || asprintf(&images_dir, "%s/images", ctx->dir.path) < 0)
		return -ENOMEM;
	if (mkdir(images_dir, 0755) < 0 && errno != EEXIST)
		return log_error_errno(negative_errno(), "Failed to create %s: %m", images_dir);
	int r;
	/* Always copied, even when a copy is there: images are renamed into
	 * place only when complete, but a copy can be damaged since (GRUB or
	 * Linux cannot read it), and keeping it would heal nothing. Nothing
	 * uses it: this boot runs from the recovery partition. */
	if (!streq(src, dst)) {
		log_info("Copying the recovery image %.12s to %s", id, images_dir);
		r = copy_file_atomic(src, dst, 0644);
		if (r == -ENOSPC)
			return log_error_errno(r,
					       "The state partition (%s) is full: nothing was changed. Remove "
					       "files that are not images there, and retry",
					       ctx->dir.path);
		if (r < 0)
			return log_error_errno(r, "Failed to copy %s to %s: %m", src, dst);
	}
	/* Its layer index too, when it has one: the next upgrade FROM it then
	 * downloads only the layers it adds. Without, it downloads them all. */
	_cleanup_free_ char *index_src = state_dir_image_file(&ctx->dir, BOOT_SLOT_RECOVERY, id, IMAGE_EXT_INDEX),
			    *index_dst = state_dir_image_file(&ctx->dir, BOOT_SLOT_ACTIVE, id, IMAGE_EXT_INDEX);
	if (index_src && index_dst && !streq(index_src, index_dst) && file_exists(index_src) &&
	    (r = copy_file_atomic(index_src, index_dst, 0644)) < 0)
		log_warning_errno(r, "Could not copy the recovery image's layer index (%m): the next upgrade "
				     "downloads all its layers");
	/* What GRUB boots, from the copy; and the menu that boots it. */
	r = image_install_boot_files(&ctx->dir, BOOT_SLOT_ACTIVE, id);
	if (r == 0)
		r = grub_cfg_install(ctx->dir.path);
	if (r < 0 || file_exists(meta_path))
		return r;
	_cleanup_free_ char *rmeta_path = state_dir_meta_path(&ctx->dir, BOOT_SLOT_RECOVERY, id);
	struct image_meta rmeta = { 0 };
	bool have = rmeta_path && image_meta_read(rmeta_path, &rmeta) == 0;
	char digest[80];
	snprintf(digest, sizeof(digest), "sha256:%s", id);
	/* The copy is the recovery image: its age and who signed it go with it. */
	struct image_meta m = rmeta;
	m.source = have && rmeta.source ? rmeta.source : (char *) "recovery";
	m.digest = digest;
	r = image_meta_write_installed(meta_path, &m, dst);
	if (have)
		image_meta_done(&rmeta);
	return r;
}

static void cmdline_donep(struct cmdline *c)
{
	cmdline_free(c);
}

static int reset(const struct reset_args *a)
{
	_cleanup_(cmdline_donep) struct cmdline c = { 0 };
	if (cmdline_read_file(a->cmdline, &c) < 0)
		log_warning("Cannot read the kernel command line from %s: going by the defaults", a->cmdline);

	/* The unit runs at every boot: off recovery, leave at once, before
	 * taking the lock that kairos-mark-good.service needs at the same time. */
	if (a->automated) {
		struct boot_record rec;
		(void) boot_record_read(a->state.boot_record, &rec);
		bool in_recovery = rec.slot == BOOT_SLOT_RECOVERY;
		if (!in_recovery)
			return 0;
	}

	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	bool state_lost = false;
	int r = open_context(&ctx, &a->state, &state_lost);
	if (r < 0)
		return r;

	bool automated = false;
	if (a->automated) {
		/* Not in recovery: the unit runs at every boot; nothing to say. */
		if (ctx.record.slot != BOOT_SLOT_RECOVERY)
			return 0;
		struct recovery_facts f = {
			.booted = ctx.record.slot,
			.reason = ctx.record.reason,
			.auto_resets = ctx.state.auto_resets,
		};
		const char *v = cmdline_get(&c, "kairos.reset");
		f.reset_requested = v && streq(v, "1");
		oem_recovery_policy(&ctx.dir, a->oem_dir, &c, &f.policy, &f.policy_source);
		char why[512];
		enum recovery_action action = recovery_decide(&f, why, sizeof(why));
		if (action == RECOVERY_DECLINE) {
			log_warning("Automated recovery: not resetting: %s", why);
			write_outcome(a, "declined", why, ctx.state.auto_resets);
			return 0;
		}
		log_info("Automated recovery: %s", why);
		write_outcome(a, "resetting", why, ctx.state.auto_resets);
		automated = action == RECOVERY_RESET_AUTO;
	} else if (ctx.record.slot != BOOT_SLOT_RECOVERY) {
		return log_error_errno(
			-EPERM,
			"reset re-creates active from recovery and runs only when booted from recovery, and this node "
			"booted %s. Boot recovery first ('kairos-upgrade boot-next recovery' and reboot, or pick "
			"\"recovery\" in the GRUB menu); to install another image here use 'upgrade'",
			ctx.record.slot == BOOT_SLOT_NONE ? "without a boot record (no kairos-boot)"
							  : boot_slot_to_string(ctx.record.slot));
	}

	const char *booted = ctx.record.image[0] ? ctx.record.image : NULL;
	(void) state_dir_clean(&ctx.dir, &ctx.state, booted); /* leftovers of an interrupted run; logged */

	char id[IMAGE_ID_LEN + 1];
	const char *source_name = NULL;
	r = place_image(a, &ctx, id, &source_name);
	if (r == 0 && a->wipe_persistent)
		r = wipe_persistent(a, &ctx.dir, &c);
	if (r < 0) {
		(void) state_dir_clean(&ctx.dir, &ctx.state, booted);
		if (a->automated)
			write_outcome(a, "failed", "the reset failed before its commit: see the log",
				      ctx.state.auto_resets);
		return log_error_errno(r, "Reset failed before its commit: the node is unchanged and boots recovery");
	}

	bool repair_recovery = !ctx.state.slots[BOOT_SLOT_RECOVERY].image[0] && ctx.record.image[0];
	if (repair_recovery && boot_state_install_recovery(&ctx.state, ctx.record.image) == 0) {
		_cleanup_free_ char *rmeta = state_dir_meta_path(&ctx.dir, BOOT_SLOT_RECOVERY, ctx.record.image);
		/* Best effort, as the repair: without a record recovery still boots. */
		if (!rmeta || image_meta_commit_verity(&ctx.state, BOOT_SLOT_RECOVERY, rmeta) < 0)
			log_warning("The recovery slot is repaired without a verity record");
	}
	/* An automated reset always commits, so the loop guard counts it: a
	 * node that keeps falling back to recovery although the map already
	 * says "reset" (its copy does not load) must not reboot uncounted. */
	if (!automated && !state_lost && !repair_recovery && boot_state_is_reset_to(&ctx.state, id)) {
		sanitize_print_line(stdout,
				    "Active is already image %.12s (from %s) and passive is empty: nothing to commit%s",
				    id, source_name, a->wipe_persistent ? " (persistent data wiped)" : "");
	} else {
		_cleanup_free_ char *meta = state_dir_meta_path(&ctx.dir, BOOT_SLOT_ACTIVE, id);
		r = meta ? boot_state_reset(&ctx.state, id, automated) : -ENOMEM;
		if (r == 0)
			r = image_meta_commit_verity(&ctx.state, BOOT_SLOT_ACTIVE, meta);
		if (r == 0)
			r = boot_state_save(ctx.dir.path, &ctx.state); /* THE commit point */
		if (r < 0)
			return log_error_errno(r,
					       "The reset was not committed; the node is unchanged and boots recovery");
		/* A stale counter already means fresh tries; write it anyway, so a
		 * counter left from another life of this generation never counts. */
		if (boot_state_save_counter(ctx.dir.path, &ctx.state) < 0)
			log_warning("The reset is committed, but the boot counter was not rewritten");
		sanitize_print_line(
			stdout,
			"Reset: active is now image %.12s from %s, new with %u tries until it is confirmed; "
			"passive is empty; persistent data %s.%s",
			id, source_name, ctx.state.tries_max, a->wipe_persistent ? "wiped" : "kept",
			a->reboot ? "" : " Reboot to use it");
	}
	(void) state_dir_clean(&ctx.dir, &ctx.state, booted);
	if (a->automated)
		write_outcome(a, "reset", automated ? "automated reset committed" : "reset (kairos.reset=1) committed",
			      ctx.state.auto_resets);

	if (a->reboot)
		return reboot_node("the healed active image");
	return 0;
}

int verb_reset(int argc, char **argv)
{
	struct reset_args a;
	int r = parse_args(argc, argv, &a);
	if (r <= 0)
		return r;
	return reset(&a);
}
