/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade: pull, commit and inspect OS images. Foundation skeleton:
 * the verbs arrive with their issues. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd_pull.h"
#include "log.h"
#include "util.h"

static void help(void)
{
	printf("Usage: kairos-upgrade COMMAND [OPTIONS]\n"
	       "\n"
	       "Install OS images from OCI registries as A/B squashfs images.\n"
	       "\n"
	       "Commands:\n"
	       "  pull           fetch an image (registry or OCI layout) into a squashfs file\n"
	       "\n"
	       "  -h, --help     show this help; COMMAND --help for a command's\n");
}

int main(int argc, char **argv)
{
	log_set_program("kairos-upgrade");
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
		help();
		return argc < 2 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	if (streq(argv[1], "pull"))
		return cmd_pull(argc - 1, argv + 1) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	log_error("unknown command '%s' (see --help)", argv[1]);
	return EXIT_FAILURE;
}
