/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot_options.h"
#include "log.h"

static void parse(struct boot_options *o, const char *text)
{
	struct cmdline c;
	assert_int_equal(cmdline_parse(text, &c), 0);
	boot_options_init(o);
	(void) boot_options_from_cmdline(o, &c);
	cmdline_free(&c);
}

static void test_defaults(void **unused)
{
	(void) unused;
	struct boot_options o;
	parse(&o, "root=kairos quiet");
	assert_string_equal(o.state_label, "COS_STATE");
	assert_string_equal(o.recovery_label, "COS_RECOVERY");
	assert_string_equal(o.persistent_label, "COS_PERSISTENT");
	assert_int_equal(o.wait_seconds, 30);
	assert_int_equal(o.overlay.n, 4);
	assert_string_equal(o.overlay.paths[0], "/etc");
	assert_string_equal(o.overlay.paths[2], "/srv");
	assert_string_equal(o.overlay.paths[3], "/tmp");
	assert_int_equal(o.persistent.n, 5);
	assert_string_equal(o.persistent.paths[4], "/etc/ssh");
	assert_int_equal(o.grub_slot, BOOT_SLOT_NONE);
	assert_false(o.counted);
	assert_string_equal(o.init, "/sbin/init");
}

static void test_cmdline_values(void **unused)
{
	(void) unused;
	struct boot_options o;
	parse(&o, "kairos.state=MY_STATE kairos.recovery_label=REC kairos.persistent_label=P "
		  "kairos.wait=5 kairos.overlay=/etc,/var/lib,,/etc kairos.persistent= "
		  "kairos.slot=passive kairos.counted=1 init=/lib/systemd/systemd "
		  "kairos.image=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_string_equal(o.state_label, "MY_STATE");
	assert_string_equal(o.recovery_label, "REC");
	assert_string_equal(o.persistent_label, "P");
	assert_int_equal(o.wait_seconds, 5);
	assert_int_equal(o.overlay.n, 2); /* empty entries and duplicates dropped */
	assert_string_equal(o.overlay.paths[1], "/var/lib");
	assert_int_equal(o.persistent.n, 0); /* explicitly none */
	assert_true(o.persistent_from_cmdline);
	assert_int_equal(o.grub_slot, BOOT_SLOT_PASSIVE);
	assert_true(o.counted);
	assert_string_equal(o.grub_image, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_string_equal(o.init, "/lib/systemd/systemd");
}

static void test_bad_values_keep_defaults(void **unused)
{
	(void) unused;
	struct boot_options o;
	parse(&o, "kairos.state= kairos.wait=-1 kairos.overlay=/etc,../x kairos.persistent=/home,/ "
		  "kairos.slot=sideways kairos.image=../../etc/passwd init=sbin/init");
	assert_string_equal(o.state_label, "COS_STATE");
	assert_int_equal(o.wait_seconds, 30);
	assert_int_equal(o.overlay.n, 4);
	assert_false(o.overlay_from_cmdline);
	assert_int_equal(o.persistent.n, 5);
	assert_int_equal(o.grub_slot, BOOT_SLOT_NONE);
	assert_string_equal(o.grub_image, "");
	assert_string_equal(o.init, "/sbin/init");

	parse(&o, "kairos.wait=99999 kairos.counted=1"); /* counted without a slot means nothing */
	assert_int_equal(o.wait_seconds, 30);
	assert_false(o.counted);
	parse(&o, "kairos.slot=recovery kairos.counted=0");
	assert_false(o.counted);
	assert_int_equal(o.grub_slot, BOOT_SLOT_RECOVERY);

	/* The state UUID GRUB passes: anything but hex and dashes is ignored. */
	parse(&o, "kairos.state_uuid=ab53cac9-4171-48ee-b4cc-2a5ce94ea128");
	assert_string_equal(o.state_uuid, "ab53cac9-4171-48ee-b4cc-2a5ce94ea128");
	const char *bad[] = { "kairos.state_uuid=", "kairos.state_uuid=../../dev/sda", "kairos.state_uuid=ab\\x",
			      "kairos.state_uuid=0123456789012345678901234567890123456789012345678901234567890123" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(&o, bad[i]);
		assert_string_equal(o.state_uuid, "");
	}
}

static void test_live_label(void **unused)
{
	(void) unused;
	struct boot_options o;
	parse(&o, "root=kairos");
	assert_string_equal(o.live_label, ""); /* not a live boot unless asked */

	struct cmdline c;
	assert_int_equal(cmdline_parse("root=kairos kairos.live=KAIROS_LIVE", &c), 0);
	boot_options_init(&o);
	assert_int_equal(boot_options_from_cmdline(&o, &c), 0);
	cmdline_free(&c);
	assert_string_equal(o.live_label, "KAIROS_LIVE");
	assert_string_equal(o.state_label, "COS_STATE"); /* the other labels are untouched */

	/* Unusable labels are refused, and the boot is then not a live one. */
	const char *bad[] = { "kairos.live=", "kairos.live=a/b",
			      "kairos.live=0123456789012345678901234567890123456789012345678901234567890123" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cmdline_parse(bad[i], &c), 0);
		boot_options_init(&o);
		assert_int_equal(boot_options_from_cmdline(&o, &c), -EINVAL);
		cmdline_free(&c);
		assert_string_equal(o.live_label, "");
	}

	parse(&o, "kairos.live=FIRST kairos.live=SECOND"); /* the last one wins, as for every key */
	assert_string_equal(o.live_label, "SECOND");
}

/* kairos.verity= (the live medium's record): strict as state.env's; one
 * that does not parse is damaged, never "no verity". */
static void test_live_verity(void **unused)
{
	(void) unused;
	struct boot_options o;
	parse(&o, "root=kairos kairos.live=KAIROS_LIVE");
	assert_int_equal(o.live_verity.state, SLOT_VERITY_NONE);
	parse(&o, "kairos.verity=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f:262144:262145");
	assert_int_equal(o.live_verity.state, SLOT_VERITY_SET);
	assert_int_equal(o.live_verity.data_blocks, 262144);
	assert_int_equal(o.live_verity.hash_start_block, 262145);
	assert_int_equal(o.live_verity.root_hash[31], 0x1f);
	const char *bad[] = { "kairos.verity=", "kairos.verity=yes", "kairos.verity=0:1:2",
			      "kairos.verity=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f:262144" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cmdline c;
		assert_int_equal(cmdline_parse(bad[i], &c), 0);
		boot_options_init(&o);
		assert_int_equal(boot_options_from_cmdline(&o, &c), -EINVAL);
		cmdline_free(&c);
		assert_int_equal(o.live_verity.state, SLOT_VERITY_DAMAGED);
	}
}

static void test_path_validation(void **unused)
{
	(void) unused;
	assert_true(boot_path_is_valid("/etc"));
	assert_true(boot_path_is_valid("/var/lib/rancher"));
	assert_true(boot_path_is_valid("/a.b/c-d_e"));
	assert_false(boot_path_is_valid("/"));
	assert_false(boot_path_is_valid(""));
	assert_false(boot_path_is_valid("etc"));
	assert_false(boot_path_is_valid("/etc/"));
	assert_false(boot_path_is_valid("//etc"));
	assert_false(boot_path_is_valid("/etc//ssh"));
	assert_false(boot_path_is_valid("/etc/./ssh"));
	assert_false(boot_path_is_valid("/etc/.."));
	assert_false(boot_path_is_valid("/../etc"));
	assert_false(boot_path_is_valid("/etc ssh"));
	assert_false(boot_path_is_valid("/etc:/x"));
	assert_false(boot_path_is_valid("/a\\b"));
	assert_false(boot_path_is_valid("/a\nb"));
	assert_true(boot_path_is_valid("/..."));

	struct path_list l;
	char many[BOOT_PATHS_MAX * 8 + 16] = "";
	for (int i = 0; i <= BOOT_PATHS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "/p%d,", i);
	assert_int_equal(path_list_parse(many, &l), -E2BIG);
	assert_int_equal(path_list_parse("/a,/b/../c", &l), -EINVAL);
}

static void test_boot_conf_and_precedence(void **unused)
{
	(void) unused;
	struct boot_options o;
	/* boot.conf applies where the command line said nothing... */
	parse(&o, "root=kairos");
	assert_int_equal(boot_options_apply_conf(&o, "# comment\n\n overlay = /etc,/var/lib \n"
						     "persistent=/home,/var/lib/rancher\r\n"),
			 0);
	assert_int_equal(o.overlay.n, 2);
	assert_string_equal(o.overlay.paths[1], "/var/lib");
	assert_int_equal(o.persistent.n, 2);
	assert_string_equal(o.persistent.paths[1], "/var/lib/rancher");

	/* ...and the command line wins where it did. */
	parse(&o, "kairos.overlay=/srv");
	assert_int_equal(boot_options_apply_conf(&o, "overlay=/etc\npersistent=/data\n"), 0);
	assert_int_equal(o.overlay.n, 1);
	assert_string_equal(o.overlay.paths[0], "/srv");
	assert_int_equal(o.persistent.n, 1);
	assert_string_equal(o.persistent.paths[0], "/data");

	/* Bad lines are reported and skipped; the rest applies. */
	parse(&o, "");
	assert_int_equal(boot_options_apply_conf(&o, "junk\npersistent=/x/../y\nunknown=1\noverlay=/tmp\n"), -EINVAL);
	assert_int_equal(o.overlay.n, 1);
	assert_int_equal(o.persistent.n, 5);
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1); /* the tests provoke errors on purpose */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_cmdline_values),
		cmocka_unit_test(test_bad_values_keep_defaults),
		cmocka_unit_test(test_live_label),
		cmocka_unit_test(test_live_verity),
		cmocka_unit_test(test_path_validation),
		cmocka_unit_test(test_boot_conf_and_precedence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
