/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade write-disk: the one place that decides whether a target may
 * be erased, and erases it (kairos-install, kairos-build-iso). What a target
 * may be, what "in use" means and the order of the write are
 * node/target_disk.h's; this verb asks, and holds the disk while the caller
 * makes the image (--image -). */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "target_disk.h"
#include "util.h"

static const char write_disk_help[] =
	"Usage: kairos-upgrade write-disk --check TARGET [--yes]\n"
	"       kairos-upgrade write-disk --image FILE --disk DISK [--expect ID | --yes]\n"
	"\n"
	"--check says what TARGET is: \"file\" (a regular file or a new path outside\n"
	"/dev) or \"disk ID\" (a whole disk, not in use, confirmed); anything else is\n"
	"refused. For a disk it shows model, serial, size and what is on it, and asks\n"
	"on the terminal unless --yes is given.\n"
	"The second form writes FILE onto DISK: ID (from --check) must still name\n"
	"the same disk; the disk is held exclusively until written, and gets its\n"
	"partition table last. With --image -, it holds the disk, prints \"held\",\n"
	"and reads the image's name from stdin (EOF: nothing is written).\n"
	"\n"
	"  --check TARGET   classify and check TARGET; print file or disk ID\n"
	"  --image FILE     the disk image to write (-: its name from stdin, later)\n"
	"  --disk DISK      the whole disk to write it onto\n"
	"  --expect ID      what --check printed after \"disk\"\n"
	"  -y, --yes        erase without asking\n"
	"  -h, --help       show this help\n";

static int confirm(const struct disk *d, bool yes)
{
	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return log_error_errno(-ECANCELED,
				       "No terminal to ask on: give --yes to erase %s without asking; nothing was "
				       "written",
				       d->path);
	fprintf(stderr, "Everything on %s will be erased. Type yes to go on: ", d->path);
	char line[16] = "";
	bool got = fgets(line, sizeof(line), stdin);
	line[strcspn(line, "\n")] = '\0';
	if (!got || !streq(strip_blanks(line), "yes"))
		return log_error_errno(-ECANCELED, "Not confirmed; nothing was written to %s", d->path);
	return 0;
}

int verb_write_disk(int argc, char **argv)
{
	static const struct option options[] = { { "check", required_argument, NULL, 'c' },
						 { "image", required_argument, NULL, 'i' },
						 { "disk", required_argument, NULL, 'd' },
						 { "expect", required_argument, NULL, 'e' },
						 { "yes", no_argument, NULL, 'y' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *check = NULL, *image = NULL, *disk_path = NULL, *expect = NULL;
	bool yes = false;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "hy", options, NULL)) >= 0)
		switch (c) {
		case 'c':
			check = optarg;
			break;
		case 'i':
			image = optarg;
			break;
		case 'd':
			disk_path = optarg;
			break;
		case 'e':
			expect = optarg;
			break;
		case 'y':
			yes = true;
			break;
		case 'h':
			fputs(write_disk_help, stdout);
			return 0;
		default:
			return -EINVAL;
		}
	if (optind < argc || !!check == !!(image || disk_path) || (!check && (!image || !disk_path)))
		return log_error_errno(-EINVAL, "write-disk needs --check TARGET, or --image and --disk (see --help)");

	_cleanup_(disk_closep) struct disk d = DISK_INIT;
	char id[DISK_IDENTITY_SIZE];
	int r = target_disk_open(check ? check : disk_path, &d);
	if (r < 0)
		return r;
	if (check) {
		if (r == 1) {
			printf("file\n");
			return 0;
		}
		disk_describe(&d);
		r = confirm(&d, yes);
		if (r < 0)
			return r;
		disk_identity(&d, id, sizeof(id));
		printf("disk %s\n", id);
		return 0;
	}
	if (r == 1)
		return log_error_errno(-ENOTBLK, "%s is not a disk", disk_path);
	disk_identity(&d, id, sizeof(id));
	if (expect && !streq(expect, id))
		return log_error_errno(-ESTALE,
				       "%s is not the disk it was (%s, now %s): unplugged and another plugged in? "
				       "Nothing was written",
				       disk_path, expect, id);
	if (!expect) {
		disk_describe(&d);
		r = confirm(&d, yes);
		if (r < 0)
			return r;
	}
	if (!streq(image, "-"))
		return disk_write_image(&d, image);
	/* Hold the disk while the caller pulls and assembles (minutes): say
	 * so, then wait for the image's name. EOF: the caller gave up. */
	printf("held\n");
	fflush(stdout);
	char line[PATH_MAX];
	if (!fgets(line, sizeof(line), stdin) || !line[0] || line[strlen(line) - 1] != '\n')
		return log_error_errno(-ECANCELED, "No image to write: nothing was written to %s", disk_path);
	line[strlen(line) - 1] = '\0';
	return disk_write_image(&d, line);
}
