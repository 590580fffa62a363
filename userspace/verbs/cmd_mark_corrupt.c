/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade mark-corrupt: the kernel read a block of the booted image
 * that fails its dm-verity hash (an EIO to the reader, a uevent with
 * DM_VERITY_ERR_BLOCK_NR=TYPE,BLOCK on /dev/mapper/kairos-SLOT); udev
 * (udev/90-kairos-verity.rules) runs this. The image is committed bad with
 * the block in the reason, once; the running active is rebooted off it
 * unless a person turned automated recovery off (docs/DESIGN.md, "A corrupt
 * block at run time"). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmdline.h"
#include "corrupt_record.h"
#include "log.h"
#include "oem_conf.h"
#include "recovery_policy.h"
#include "sanitize.h"
#include "util.h"

/* The kernel sends one uevent per bad block (the first 100): their runs
 * queue on the state lock, the first commits, the others find it done. */
#define MARK_CORRUPT_LOCK_WAIT_MS (120U * 1000U)
#define DM_NAME_PREFIX "kairos-"

static const char help_text[] =
	"Usage: kairos-upgrade mark-corrupt SLOT TYPE BLOCK [OPTIONS]\n"
	"       kairos-upgrade mark-corrupt SLOT TYPE,BLOCK [OPTIONS]\n"
	"\n"
	"The kernel found a block of the booted image that fails its dm-verity hash\n"
	"(udev runs this from the uevent of /dev/mapper/kairos-SLOT). SLOT is the slot\n"
	"at boot (active, passive, recovery, or the device name kairos-SLOT); TYPE is\n"
	"dm-verity's: 0 a data block, 1 a hash block; BLOCK its number. The image that\n"
	"booted (boot record) is committed bad in whichever slot holds it now, with\n"
	"the block in the reason, so that the next boot falls back; once: an image\n"
	"already bad is left as it is. A corrupt recovery image is recorded for\n"
	"'status' instead (recovery always boots). When the image is the running\n"
	"active, the node is rebooted at once unless automated recovery is turned off\n"
	"(kairos.recovery=manual on the kernel command line, or recovery=manual in\n"
	"kairos.conf on COS_OEM).\n"
	"\n"
	"      --no-reboot         commit only, never reboot\n"
	"      --cmdline FILE      kernel command line (default /proc/cmdline)\n"
	"      --oem-dir DIR       read " OEM_CONF_FILE " from DIR instead of COS_OEM\n" STATE_OPTIONS_HELP
	"  -h, --help              show this help\n";

struct corrupt_args {
	struct state_options state;
	const char *cmdline;
	const char *oem_dir;
	bool no_reboot;
	enum boot_slot slot;
	const char *area;
	uint64_t block;
};

static int parse_slot(const char *arg, enum boot_slot *ret)
{
	const size_t plen = strlen(DM_NAME_PREFIX);
	const char *name = strncmp(arg, DM_NAME_PREFIX, plen) == 0 ? arg + plen : arg;
	*ret = boot_slot_from_string(name);
	if (*ret == BOOT_SLOT_NONE) {
		char clean[64];
		sanitize_to(clean, sizeof(clean), arg);
		return log_error_errno(-EINVAL,
				       "mark-corrupt: unknown slot '%s': active, passive or recovery (or kairos-SLOT); "
				       "nothing changed",
				       clean);
	}
	return 0;
}

static int parse_type_block(const char *type, const char *block, struct corrupt_args *a)
{
	char clean[64];
	if (streq(type, "0"))
		a->area = "data";
	else if (streq(type, "1"))
		a->area = "hash";
	else {
		sanitize_to(clean, sizeof(clean), type);
		return log_error_errno(-EINVAL,
				       "mark-corrupt: block type '%s' is not dm-verity's 0 (data) or 1 (hash); nothing "
				       "changed",
				       clean);
	}
	if (corrupt_block_parse(block, &a->block) < 0) {
		sanitize_to(clean, sizeof(clean), block);
		return log_error_errno(-EINVAL,
				       "mark-corrupt: block '%s' is not a block number (decimal, at most %" PRIu64
				       "); nothing changed",
				       clean, CORRUPT_BLOCK_MAX);
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct corrupt_args *a)
{
	enum { ARG_NO_REBOOT = 0x100, ARG_CMDLINE, ARG_OEM_DIR };
	static const struct option options[] = {
		{ "no-reboot", no_argument, NULL, ARG_NO_REBOOT },
		{ "cmdline", required_argument, NULL, ARG_CMDLINE },
		{ "oem-dir", required_argument, NULL, ARG_OEM_DIR },
		STATE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	*a = (struct corrupt_args){ .cmdline = "/proc/cmdline" };
	state_options_init(&a->state);
	optind = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		if (state_options_option(c, optarg, &a->state))
			continue;
		switch (c) {
		case ARG_NO_REBOOT:
			a->no_reboot = true;
			break;
		case ARG_CMDLINE:
			a->cmdline = optarg;
			break;
		case ARG_OEM_DIR:
			a->oem_dir = optarg;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 0;
		default:
			return -EINVAL;
		}
	}
	int n = argc - optind;
	if (n != 2 && n != 3)
		return log_error_errno(-EINVAL, "mark-corrupt takes SLOT TYPE BLOCK (see --help); nothing changed");
	int r = parse_slot(argv[optind], &a->slot);
	if (r < 0)
		return r;
	if (n == 3)
		r = parse_type_block(argv[optind + 1], argv[optind + 2], a);
	else {
		/* The uevent's value as it is: "TYPE,BLOCK". */
		char pair[64];
		char *comma = NULL;
		if (strlen(argv[optind + 1]) < sizeof(pair)) {
			strcpy(pair, argv[optind + 1]);
			comma = strchr(pair, ',');
		}
		if (!comma) {
			sanitize_to(pair, sizeof(pair), argv[optind + 1]);
			return log_error_errno(-EINVAL, "mark-corrupt: '%s' is not TYPE,BLOCK; nothing changed", pair);
		}
		*comma = '\0';
		r = parse_type_block(pair, comma + 1, a);
	}
	return r < 0 ? r : 1;
}

static void cmdline_donep(struct cmdline *c)
{
	cmdline_free(c);
}

/* The running active is bad now: reboot off it, unless a person said not to. */
static int maybe_reboot(const struct corrupt_args *a, const struct state_context *ctx)
{
	_cleanup_(cmdline_donep) struct cmdline c = { 0 };
	if (cmdline_read_file(a->cmdline, &c) < 0)
		log_warning("Cannot read the kernel command line from %s: going by the defaults", a->cmdline);
	enum recovery_policy policy;
	const char *source;
	oem_recovery_policy(&ctx->dir, a->oem_dir, &c, &policy, &source);
	if (!recovery_policy_reboots_on_corrupt(policy)) {
		log_warning("Not rebooting: automated recovery is off (%s); the next boot falls back. Reboot when "
			    "ready",
			    source);
		return 0;
	}
	if (a->no_reboot) {
		log_info("Would reboot now (automated recovery %s, %s), but --no-reboot: the next boot falls back",
			 policy == RECOVERY_POLICY_AUTO ? "auto" : "not set", source);
		return 0;
	}
	log_warning("Rebooting off the corrupt active image (automated recovery %s, %s; set recovery=manual "
		    "in " OEM_CONF_FILE " on COS_OEM or kairos.recovery=manual to stop this)",
		    policy == RECOVERY_POLICY_AUTO ? "auto" : "not set", source);
	return reboot_node("the fallback image");
}

/* Once, when it is news: the uevent comes for each bad block read. */
static void log_found(const struct corrupt_args *a, const char *image)
{
	log_error("The kernel read a corrupt block of the booted %s image %.12s: %s block %" PRIu64
		  " fails its dm-verity hash",
		  boot_slot_to_string(a->slot), image, a->area, a->block);
}

int verb_mark_corrupt(int argc, char **argv)
{
	struct corrupt_args a;
	int r = parse_args(argc, argv, &a);
	if (r <= 0)
		return r;
	a.state.lock_wait_ms = MARK_CORRUPT_LOCK_WAIT_MS;
	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	r = state_context_open(&ctx, &a.state, true);
	if (r < 0)
		return r;

	/* The device is named after the slot at boot; the slots may have
	 * rotated since (an upgrade, no reboot yet): the image says which. */
	const struct boot_record *rec = &ctx.record;
	if (rec->slot == BOOT_SLOT_NONE || !rec->image[0])
		return log_error_errno(-ENOENT,
				       "mark-corrupt: no boot record (%s) names the booted image: cannot tell which "
				       "image is corrupt; nothing changed",
				       a.state.boot_record);
	if (rec->slot != a.slot)
		return log_error_errno(-EINVAL,
				       "mark-corrupt: this node booted %s, not %s: kairos-%s is not its root "
				       "device; nothing changed",
				       boot_slot_to_string(rec->slot), boot_slot_to_string(a.slot),
				       boot_slot_to_string(a.slot));
	enum boot_slot now = BOOT_SLOT_NONE;
	for (int i = 0; i < BOOT_SLOT_COUNT && now == BOOT_SLOT_NONE; i++)
		if (streq(ctx.state.slots[i].image, rec->image))
			now = (enum boot_slot) i;
	if (now == BOOT_SLOT_NONE)
		return log_error_errno(-ESTALE,
				       "mark-corrupt: the booted image %.12s is no longer in any slot; nothing changed",
				       rec->image);

	char reason[SLOT_REASON_MAX];
	corrupt_reason(reason, sizeof(reason), a.area, a.block, rec->image);
	if (now == BOOT_SLOT_RECOVERY) {
		struct recovery_corrupt rc = { .block = a.block, .area = corrupt_area_from_string(a.area) };
		memcpy(rc.image, rec->image, sizeof(rc.image));
		struct recovery_corrupt old;
		if (recovery_corrupt_applies(ctx.dir.path, rec->image, &old)) {
			printf("recovery (image %.12s) is already recorded corrupt (block %" PRIu64
			       "); nothing changed\n",
			       old.image, old.block);
			return 0;
		}
		log_found(&a, rec->image);
		r = recovery_corrupt_write(ctx.dir.path, &rc);
		if (r == 0)
			printf("recovery image %.12s corrupt: %s block %" PRIu64 "; run upgrade --recovery\n", rc.image,
			       rc.area, rc.block);
		return r;
	}

	struct slot_state *st = &ctx.state.slots[now];
	if (st->status == SLOT_STATUS_BAD) {
		sanitize_print_line(stdout, "%s (image %.12s) is already marked bad (%s); nothing changed",
				    boot_slot_to_string(now), st->image, st->reason[0] ? st->reason : "no reason");
		return 0;
	}
	log_found(&a, rec->image);
	r = boot_state_mark_bad(&ctx.state, now, reason);
	if (r == 0)
		r = boot_state_save(ctx.dir.path, &ctx.state); /* the commit point */
	if (r < 0)
		return log_error_errno(r, "mark-corrupt: could not commit %s bad: %m", boot_slot_to_string(now));
	struct boot_decision next;
	char why[256];
	boot_state_choose_slot(&ctx.state, &next);
	boot_decision_describe(&next, why, sizeof(why));
	printf("%s (image %.12s) marked bad: %s; next boot: %s\n", boot_slot_to_string(now), st->image, reason, why);

	/* Only the image running as active needs the reboot: one that became
	 * passive since boot is left at the next boot anyway. */
	if (now == BOOT_SLOT_ACTIVE)
		return maybe_reboot(&a, &ctx);
	return 0;
}
