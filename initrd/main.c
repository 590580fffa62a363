/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-boot: the initramfs helper. This is the foundation's skeleton: it
 * reads the boot state and prints the decision (no mounts yet). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "boot_state.h"
#include "log.h"
#include "util.h"

static void help(void)
{
	printf("Usage: kairos-boot decide --state-dir DIR\n"
	       "\n"
	       "Print which slot the next boot would use, and why, without changing anything.\n"
	       "\n"
	       "  --state-dir DIR   directory holding state.env and counter.env\n"
	       "  -h, --help        show this help\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *state_dir = NULL;
	int c;

	log_set_program("kairos-boot");
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'd':
			state_dir = optarg;
			break;
		case 'h':
			help();
			return EXIT_SUCCESS;
		default:
			return EXIT_FAILURE;
		}
	}
	if (optind >= argc || !streq(argv[optind], "decide") || !state_dir) {
		log_error("usage: kairos-boot decide --state-dir DIR (see --help)");
		return EXIT_FAILURE;
	}

	struct boot_state s;
	int r = boot_state_load(state_dir, &s);
	if (r < 0 && r != -ENOENT)
		log_warning("boot state unusable, deciding from defaults");
	struct boot_decision d;
	boot_state_choose_slot(&s, &d);
	char why[256];
	boot_decision_describe(&d, why, sizeof(why));
	printf("%s\n", why);
	return EXIT_SUCCESS;
}
