/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade: pull, commit and inspect OS images. main() only finds the
 * verb; each verb lives in its own cmd_*.c. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd_build_iso.h"
#include "cmd_pull.h"
#include "log.h"
#include "util.h"
#include "version.h"

static const struct verb verbs[] = {
	{ "upgrade", verb_upgrade, "install an image as the new active (or recovery) image" },
	{ "pull", verb_pull, "fetch an image (registry or OCI layout) into a squashfs file" },
	{ "status", verb_status, "show what booted, each slot's image, and the next boot" },
	{ "mark-good", verb_mark_good, "confirm the booted image (after a healthy boot)" },
	{ "mark-bad", verb_mark_bad, "mark the booted image failed; the next boot falls back" },
	{ "mark-corrupt", verb_mark_corrupt, "a corrupt block of the booted image (udev): commit it bad" },
	{ "rollback", verb_rollback, "make passive the active image again" },
	{ "boot-next", verb_boot_next, "boot a slot once at the next boot" },
	{ "reset", verb_reset, "from recovery: re-create active from the recovery image" },
	{ "build-iso", verb_build_iso, "make a live ISO of an image (runs kairos-build-iso)" },
	{ "write-disk", verb_write_disk, "check a target disk, and write a disk image onto it (kairos-install)" },
	{ "sign", verb_sign, "sign an image in a registry with a cosign key (cosign's classic format)" },
	{ "boot-files", verb_boot_files, "copy an image's kernel and initrd out of it (mk-disk, kairos-build-iso)" },
	{ "verify", verb_verify, "check every block of the installed images against their dm-verity trees" },
};

static void help(void)
{
	printf("Usage: kairos-upgrade COMMAND [OPTIONS]\n"
	       "\n"
	       "Install OS images from OCI registries as A/B squashfs images, and manage\n"
	       "which one boots.\n"
	       "\n"
	       "Commands:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %-12s %s\n", verbs[i].name, verbs[i].summary);
	printf("\n"
	       "Run 'kairos-upgrade COMMAND --help' for a command's options;\n"
	       "'kairos-upgrade --version' for the version and commit.\n");
}

int main(int argc, char **argv)
{
	log_set_program("kairos-upgrade");
	if (argc < 2) {
		help();
		return EXIT_FAILURE;
	}
	if (streq(argv[1], "--version")) {
		printf("kairos-upgrade %s (commit %s)\n", kairos_version, kairos_commit);
		return EXIT_SUCCESS;
	}
	if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
		help();
		return EXIT_SUCCESS;
	}
	/* "kairos-upgrade --source X" means "kairos-upgrade upgrade --source X". */
	if (argv[1][0] == '-')
		return verb_upgrade(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(argv[1], verbs[i].name)) {
			int r = verbs[i].run(argc - 1, argv + 1);
			/* verify's exit status says what it found (0-3). */
			return r < 0 ? EXIT_FAILURE : verbs[i].run == verb_verify ? r : EXIT_SUCCESS;
		}
	log_error("Unknown command '%s' (see kairos-upgrade --help)", argv[1]);
	return EXIT_FAILURE;
}
