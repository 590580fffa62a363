/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void state_options_init(struct state_options *o)
{
	*o = (struct state_options){ .boot_record = BOOT_RECORD_DEFAULT };
}

int state_options_option(int c, const char *arg, struct state_options *o)
{
	switch (c) {
	case STATE_ARG_STATE_DIR:
		o->state_dir = arg;
		return 1;
	case STATE_ARG_RECOVERY_DIR:
		o->recovery_dir = arg;
		return 1;
	case STATE_ARG_BOOT_RECORD:
		o->boot_record = arg;
		return 1;
	default:
		return 0;
	}
}

int state_options_parse(int argc, char **argv, const char *help_text, bool allow_json, struct state_options *o)
{
	enum { OPT_JSON = 0x100 };
	static const struct option options[] = {
		STATE_LONG_OPTIONS,
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	state_options_init(o);
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		if (state_options_option(c, optarg, o))
			continue;
		switch (c) {
		case OPT_JSON:
			if (!allow_json)
				return log_error_errno(-EINVAL, "%s has no --json output (see --help)", argv[0]);
			o->json = true;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

int reboot_node(const char *into)
{
	log_info("Rebooting into %s", into);
	/* exec does not flush stdio: what was printed (a unit's journal is a
	 * pipe, fully buffered) would be lost. */
	fflush(NULL);
	sync();
	/* --no-block: this may run inside a unit of the boot transaction that
	 * the reboot replaces (kairos-recovery.service), which would deadlock. */
	if (access("/run/systemd/system", F_OK) == 0)
		execl("/bin/systemctl", "systemctl", "--no-block", "reboot", (char *) NULL);
	if (reboot(RB_AUTOBOOT) < 0)
		return log_error_errno(negative_errno(), "Failed to reboot: %m");
	return 0;
}
