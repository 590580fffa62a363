/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade boot-files: an image's kernel and initrd copied out of it,
 * for the scripts that put them beside an image (mk-disk, kairos-install)
 * or on a live medium (kairos-build-iso). The same code as an upgrade's
 * (node/install_image.h): links followed inside the image only, sizes
 * bounded, each file written whole or not at all. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "install_image.h"
#include "log.h"
#include "util.h"

static const char boot_files_help[] =
	"Usage: kairos-upgrade boot-files --image FILE.squashfs --kernel OUT --initrd OUT\n"
	"\n"
	"Copy the image's /boot/vmlinuz to OUT (--kernel) and its /boot/initrd to\n"
	"OUT (--initrd), as an upgrade puts them beside the image for GRUB. A\n"
	"symbolic link is followed inside the image (an absolute target starts at\n"
	"its root, \"..\" stops there, 40 links at most), never on this machine;\n"
	"only a regular, non-empty file is taken (a kernel of at most 256 MiB, an\n"
	"initrd of at most 1 GiB). Each OUT is written to a temporary file, synced\n"
	"and renamed: it is whole or untouched. Exit status 1 when the image has no\n"
	"kernel or initrd (a kernel already copied then stays: remove it).\n"
	"\n"
	"  --image FILE     the squashfs image\n"
	"  --kernel OUT     where its kernel goes\n"
	"  --initrd OUT     where its initrd goes\n"
	"  -h, --help       show this help\n";

int verb_boot_files(int argc, char **argv)
{
	static const struct option options[] = { { "image", required_argument, NULL, 'i' },
						 { "kernel", required_argument, NULL, 'k' },
						 { "initrd", required_argument, NULL, 'r' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	const char *image = NULL, *kernel = NULL, *initrd = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'i':
			image = optarg;
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'r':
			initrd = optarg;
			break;
		case 'h':
			fputs(boot_files_help, stdout);
			return 0;
		default:
			return -EINVAL;
		}
	if (optind < argc || !image || !kernel || !initrd)
		return log_error_errno(-EINVAL, "boot-files needs --image, --kernel and --initrd (see --help)");
	return image_extract_boot_files(image, kernel, initrd);
}
