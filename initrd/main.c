/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-boot: the initramfs helper. At every boot it finds the state
 * partition, decides the slot, mounts that slot's image, builds the writable
 * root around it and moves it into place (boot_sequence.c; from the live
 * medium, boot_live.c). A fatal error reboots, so the next slot gets its
 * turn; it never drops to a shell.
 *
 * This file: the command line, the help and the verbs: mount (a dracut
 * hook), init (PID 1 of a minimal initramfs), decide. */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "boot_sequence.h"
#include "boot_state.h"
#include "log.h"
#include "pid1.h"
#include "util.h"

#define MODULES_LIST "/etc/kairos/modules"
#define SYSROOT "/sysroot"

static struct args {
	const char *verb;
	const char *failed; /* decide: slots that do not load, "active,recovery" */
	bool no_reboot;
	bool help;
	struct boot_args boot; /* mount and init: where the boot finds and puts things */
} arg = {
	.boot = { .cmdline = "/proc/cmdline", .run_dir = "/run/kairos", .record = "/run/kairos/boot.json" },
};

/* Everything one boot touches (boot_sequence.h). Static: the mount plan is
 * large. */
static struct boot boot = { .args = &arg.boot };

static int verb_mount(void)
{
	if (!arg.no_reboot) { /* a real boot: the console shows what happened */
		int kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
		if (kmsg >= 0)
			log_set_kmsg_fd(kmsg);
	}
	if (!arg.boot.root)
		return log_error_errno(-EINVAL, "mount needs --root DIR (see --help)");
	struct stat st;
	if (stat(arg.boot.root, &st) < 0 || !S_ISDIR(st.st_mode)) /* found out now, not after all the mounting */
		return log_error_errno(-ENOTDIR, "%s is not a directory", arg.boot.root);
	return boot_mount(&boot);
}

/* PID 1 of a minimal initramfs: nothing else has set up anything. */
static int verb_init(void)
{
	/* Mounting over /proc and /dev, or rebooting, is only ever right for
	 * the initramfs's own PID 1 (or PID 1 of a test's PID namespace). */
	if (getpid() != 1) {
		arg.no_reboot = true;
		return log_error_errno(-EPERM, "init must run as PID 1 (see --help)");
	}
	int r = pid1_mount_kernel_filesystems();
	if (r < 0)
		return r;
	int kmsg = arg.no_reboot ? -1 : open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg >= 0)
		log_set_kmsg_fd(kmsg);

	struct utsname u;
	char moddir[PATH_MAX];
	uname(&u);
	snprintf(moddir, sizeof(moddir), "/lib/modules/%s", u.release);
	if (load_modules(MODULES_LIST, moddir) > 0)
		log_warning("Some modules did not load: the boot goes on and may fail later");

	if (!arg.boot.root)
		arg.boot.root = SYSROOT;
	(void) mkdir(arg.boot.root, 0755);
	if ((r = boot_mount(&boot)) < 0)
		return r;
	return switch_root(arg.boot.root, boot.opts.init);
}

static int verb_decide(void)
{
	if (!arg.boot.state_dir)
		return log_error_errno(-EINVAL, "decide needs --state-dir DIR (see --help)");
	struct boot_state s;
	int r = boot_state_load(arg.boot.state_dir, &s);
	if (r < 0 && r != -ENOENT)
		log_warning("boot state unusable, deciding from defaults");
	struct boot_decision d;
	boot_state_choose_slot(&s, &d);
	char why[256];
	boot_decision_describe(&d, why, sizeof(why));
	if (!arg.failed) {
		printf("%s\n", why);
		return 0;
	}
	/* --failed: what a boot does when those slots do not load, as GRUB's
	 * kairos_boot does it (tests/boot/grub-parity): the decision's
	 * counter change, then boot_state_fallback until a slot loads. */
	bool failed[BOOT_SLOT_COUNT] = { 0 };
	_cleanup_free_ char *list = strdup(arg.failed);
	char *save = NULL;
	for (char *w = list ? strtok_r(list, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save)) {
		enum boot_slot slot = boot_slot_from_string(w);
		if (slot == BOOT_SLOT_NONE)
			return log_error_errno(-EINVAL, "--failed: unknown slot '%s'", w);
		failed[slot] = true;
	}
	bool written = boot_state_apply(&s, &d);
	bool fell = false;
	for (int n = 0; n < BOOT_SLOT_COUNT + 2 && d.slot != BOOT_SLOT_NONE && failed[d.slot]; n++) {
		boot_state_fallback(&s, failed, &d);
		written |= boot_state_apply(&s, &d);
		fell = true;
	}
	if (d.slot != BOOT_SLOT_NONE && failed[d.slot])
		d.slot = BOOT_SLOT_NONE;
	boot_decision_describe(&d, why, sizeof(why));
	printf("%s%s\n", fell && d.reason != BOOT_REASON_LAST_RESORT ? "fallback: " : "", why);
	char unconfirmed[16] = ""; /* unarmed: empty, as written */
	if (s.unconfirmed_armed)
		snprintf(unconfirmed, sizeof(unconfirmed), "%u", s.unconfirmed);
	printf("counter: kairos_tries=%u kairos_boot_next=%s kairos_active_unconfirmed=%s\n", s.tries_left,
	       s.boot_next == BOOT_SLOT_NONE ? "" : boot_slot_to_string(s.boot_next), unconfirmed);
	printf("counter written: %s\n", written ? "yes" : "no");
	return 0;
}

static void help(void)
{
	if (arg.verb && streq(arg.verb, "mount"))
		printf("Usage: kairos-boot mount --root DIR [OPTIONS]\n"
		       "\n"
		       "Find the state partition, choose and count the slot, mount its image with\n"
		       "overlays and persistent binds, and move the finished root onto DIR\n"
		       "(a dracut mount hook runs it with --root \"$NEWROOT\"). With kairos.live=LABEL\n"
		       "on the command line, mount the image of the live medium with that label instead.\n"
		       "\n"
		       "  --root DIR, --newroot DIR  where the root goes\n"
		       "  --cmdline FILE             kernel command line (default /proc/cmdline)\n"
		       "  --record FILE              boot record (default /run/kairos/boot.json)\n"
		       "  --run-dir DIR              scratch space (default /run/kairos)\n"
		       "  --state-dir DIR            tests: use DIR instead of the state partition\n"
		       "  --recovery-dir DIR         tests: instead of the recovery partition\n"
		       "  --persistent-dir DIR       tests: instead of the persistent partition\n"
		       "  --live-dir DIR             tests: boot live from DIR instead of the live medium\n"
		       "  --node-disks \"loop3 loop4\" tests: these devices count as the state partition's disk\n"
		       "  --no-reboot                on a fatal error exit 1 instead of rebooting\n");
	else if (arg.verb && streq(arg.verb, "init"))
		printf("Usage: kairos-boot init [--cmdline FILE] [--no-reboot]   (or run as /init, PID 1)\n"
		       "\n"
		       "Mount /proc, /sys, /dev and /run, load the modules listed in\n"
		       "/etc/kairos/modules, do what `mount --root /sysroot` does, then switch to\n"
		       "the new root and execute init (init= on the command line, or /sbin/init).\n"
		       "On a fatal error it reboots. Refuses to run unless it is PID 1.\n");
	else if (arg.verb && streq(arg.verb, "decide"))
		printf("Usage: kairos-boot decide --state-dir DIR [--failed SLOT,...]\n"
		       "\n"
		       "Print which slot the next boot would use, and why, without changing anything.\n"
		       "With --failed, the slot a boot ends on when those slots do not load, and the\n"
		       "counter it leaves (tests: what grub.cfg must do).\n");
	else
		printf("Usage: kairos-boot mount|init|decide [OPTIONS]\n"
		       "\n"
		       "  mount    build the root of the chosen slot on --root DIR (dracut hook)\n"
		       "  init     be the initramfs's /init: the same, then switch root\n"
		       "  decide   print which slot the next boot would use, changing nothing\n"
		       "\n"
		       "`kairos-boot VERB --help` shows the options of a verb.\n");
}

static int parse_argv(int argc, char **argv)
{
	enum {
		ARG_CMDLINE = 0x100,
		ARG_STATE_DIR,
		ARG_RECOVERY_DIR,
		ARG_PERSISTENT_DIR,
		ARG_LIVE_DIR,
		ARG_ROOT,
		ARG_RUN_DIR,
		ARG_RECORD,
		ARG_NO_REBOOT,
		ARG_NODE_DISKS,
		ARG_FAILED
	};
	static const struct option options[] = {
		{ "cmdline", required_argument, NULL, ARG_CMDLINE },
		{ "state-dir", required_argument, NULL, ARG_STATE_DIR },
		{ "recovery-dir", required_argument, NULL, ARG_RECOVERY_DIR },
		{ "persistent-dir", required_argument, NULL, ARG_PERSISTENT_DIR },
		{ "live-dir", required_argument, NULL, ARG_LIVE_DIR },
		{ "node-disks", required_argument, NULL, ARG_NODE_DISKS },
		{ "root", required_argument, NULL, ARG_ROOT },
		{ "newroot", required_argument, NULL, ARG_ROOT },
		{ "run-dir", required_argument, NULL, ARG_RUN_DIR },
		{ "record", required_argument, NULL, ARG_RECORD },
		{ "no-reboot", no_argument, NULL, ARG_NO_REBOOT },
		{ "failed", required_argument, NULL, ARG_FAILED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case ARG_CMDLINE:
			arg.boot.cmdline = optarg;
			break;
		case ARG_STATE_DIR:
			arg.boot.state_dir = optarg;
			break;
		case ARG_RECOVERY_DIR:
			arg.boot.recovery_dir = optarg;
			break;
		case ARG_PERSISTENT_DIR:
			arg.boot.persistent_dir = optarg;
			break;
		case ARG_LIVE_DIR:
			arg.boot.live_dir = optarg;
			break;
		case ARG_NODE_DISKS:
			arg.boot.node_disks = optarg;
			break;
		case ARG_ROOT:
			arg.boot.root = optarg;
			break;
		case ARG_RUN_DIR:
			arg.boot.run_dir = optarg;
			break;
		case ARG_RECORD:
			arg.boot.record = optarg;
			break;
		case ARG_NO_REBOOT:
			arg.no_reboot = true;
			break;
		case ARG_FAILED:
			arg.failed = optarg;
			break;
		case 'h':
			arg.help = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		arg.verb = argv[optind++];
	if (optind < argc)
		return log_error_errno(-EINVAL, "Unexpected argument %s (see --help)", argv[optind]);
	return 0;
}

/* The verbs: a failure of mount or init reboots the node (unless
 * --no-reboot), so the next slot gets its turn. */
static const struct verb {
	const char *name;
	int (*run)(void);
	bool reboot_on_failure;
} verbs[] = {
	{ "mount", verb_mount, true },
	{ "init", verb_init, true },
	{ "decide", verb_decide, false },
};

int main(int argc, char **argv)
{
	clock_gettime(CLOCK_MONOTONIC, &boot.start); /* the timings count from here */
	log_set_program("kairos-boot");
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	bool as_init = getpid() == 1 || (strlen(base) >= 4 && streq(base + strlen(base) - 4, "init"));

	if (parse_argv(argc, argv) < 0)
		return EXIT_FAILURE;
	if (as_init && !arg.verb)
		arg.verb = "init";
	if (arg.help) {
		help();
		return EXIT_SUCCESS;
	}
	if (!arg.verb) {
		help();
		return EXIT_FAILURE;
	}

	const struct verb *verb = NULL;
	for (size_t i = 0; i < ELEMENTSOF(verbs) && !verb; i++)
		if (streq(verbs[i].name, arg.verb))
			verb = &verbs[i];
	if (!verb) {
		log_error("Unknown verb %s (see --help)", arg.verb);
		return EXIT_FAILURE;
	}
	int r = verb->run();
	if (r < 0 && verb->reboot_on_failure && !arg.no_reboot)
		reboot_now();
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
