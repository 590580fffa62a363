/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot_record.h"
#include "durable.h"
#include "log.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct mount_plan plan;

static void test_fallback_record(void **unused)
{
	(void)unused;
	struct boot_options o;
	boot_options_init(&o);
	assert_int_equal(path_list_parse("/etc", &o.overlay), 0);
	assert_int_equal(path_list_parse("/home", &o.persistent), 0);
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_PASSIVE, true, &plan), 0);
	enum step_result results[2] = {STEP_MOUNTED, STEP_SEEDED};

	struct boot_record rec;
	boot_record_init(&rec);
	rec.slot = BOOT_SLOT_PASSIVE;
	memcpy(rec.image, ID_B, sizeof(rec.image));
	rec.decision = (struct boot_decision){.slot = BOOT_SLOT_PASSIVE, .reason = BOOT_REASON_FALLBACK,
					      .active_skipped = SKIP_BAD};
	boot_decision_describe(&rec.decision, rec.why, sizeof(rec.why));
	rec.counted_by = "helper";
	rec.fallback_from = BOOT_SLOT_ACTIVE;
	assert_int_equal(boot_record_add_failure(&rec, BOOT_SLOT_ACTIVE, ID_A, "image does not mount: \"bad\"\n"), 0);
	rec.persistent = "mounted";
	snprintf(rec.state_device, sizeof(rec.state_device), "/dev/vda4");
	rec.plan = &plan;
	rec.step_results = results;
	rec.start_to_state_ms = 12;
	rec.start_to_root_ms = 48;
	boot_record_add_warning(&rec, "label %s is on %u filesystems", "COS_STATE", 2U);
	boot_record_add_warning(&rec, "second \"quoted\"");
	for (int i = 0; i < 5; i++) /* at most 4 kept */
		boot_record_add_warning(&rec, "more");

	char *text = NULL;
	assert_int_equal(boot_record_format(&rec, &text), 0);
	assert_string_equal(
		text,
		"{\"slot\":\"passive\",\"image\":\"" ID_B "\",\"reason\":\"fallback\","
		"\"why\":\"fallback to passive: active is marked bad\",\"tries_left\":null,\"counted_by\":\"helper\","
		"\"fallback_from\":\"active\",\"kernel_image\":null,\"failed\":[{\"slot\":\"active\",\"image\":\"" ID_A "\","
		"\"error\":\"image does not mount: \\\"bad\\\"\\\\x0a\"}],\"state_device\":\"/dev/vda4\","
		"\"persistent\":{\"status\":\"mounted\",\"device\":null,\"error\":null,\"binds\":[{\"path\":\"/home\",\"status\":\"seeded\"}]},"
		"\"overlays\":[{\"path\":\"/etc\",\"status\":\"mounted\"}],"
		"\"warnings\":[\"label COS_STATE is on 2 filesystems\",\"second \\\"quoted\\\"\",\"more\",\"more\"],"
		"\"timings_ms\":{\"start_to_state\":12,\"start_to_root\":48},\"error\":null}\n");
	free(text);
}

static void test_trying_and_failure_records(void **unused)
{
	(void)unused;
	struct boot_record rec;
	boot_record_init(&rec);
	rec.slot = BOOT_SLOT_ACTIVE;
	memcpy(rec.image, ID_A, sizeof(rec.image));
	rec.decision = (struct boot_decision){.slot = BOOT_SLOT_ACTIVE, .reason = BOOT_REASON_TRYING, .tries_left = 2};
	snprintf(rec.why, sizeof(rec.why), "x");
	rec.counted_by = "grub";
	char *text = NULL;
	assert_int_equal(boot_record_format(&rec, &text), 0);
	assert_non_null(strstr(text, "\"reason\":\"trying\""));
	assert_non_null(strstr(text, "\"tries_left\":2,\"counted_by\":\"grub\""));
	assert_non_null(strstr(text, "\"persistent\":{\"status\":null,"));
	free(text);

	/* Nothing booted: no slot, the error, and the timings reached. */
	boot_record_init(&rec);
	rec.start_to_state_ms = 3;
	snprintf(rec.error, sizeof(rec.error), "No slot can boot");
	assert_int_equal(boot_record_format(&rec, &text), 0);
	assert_non_null(strstr(text, "{\"slot\":null,\"image\":null,\"reason\":null,\"why\":null,"));
	assert_non_null(strstr(text, "\"warnings\":[],\"timings_ms\":{\"start_to_state\":3,\"start_to_root\":null},\"error\":\"No slot can boot\"}"));
	free(text);

	/* At most one failure per slot. */
	for (int i = 0; i < BOOT_RECORD_FAILED_MAX; i++)
		assert_int_equal(boot_record_add_failure(&rec, BOOT_SLOT_ACTIVE, NULL, "e"), 0);
	assert_int_equal(boot_record_add_failure(&rec, BOOT_SLOT_ACTIVE, NULL, "e"), -E2BIG);
}

static void test_live_record(void **unused)
{
	(void)unused;
	struct boot_options o;
	boot_options_init(&o);
	assert_int_equal(path_list_parse("/etc", &o.overlay), 0);
	assert_int_equal(path_list_parse("/home", &o.persistent), 0);
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_NONE, false, &plan), 0);
	enum step_result results[2] = {STEP_MOUNTED, STEP_MOUNTED};

	struct boot_record rec;
	boot_record_init(&rec);
	rec.live = true;
	memcpy(rec.image, ID_A, sizeof(rec.image));
	snprintf(rec.why, sizeof(rec.why), "live: /kairos/os.squashfs on /dev/sr0 (KAIROS_LIVE)");
	rec.persistent = "not-used";
	rec.plan = &plan;
	rec.step_results = results;
	rec.start_to_root_ms = 30;

	char *text = NULL;
	assert_int_equal(boot_record_format(&rec, &text), 0);
	assert_string_equal(
		text,
		"{\"slot\":\"live\",\"image\":\"" ID_A "\",\"reason\":\"live\","
		"\"why\":\"live: /kairos/os.squashfs on /dev/sr0 (KAIROS_LIVE)\",\"tries_left\":null,\"counted_by\":null,"
		"\"fallback_from\":null,\"kernel_image\":null,\"failed\":[],\"state_device\":null,"
		"\"persistent\":{\"status\":\"not-used\",\"device\":null,\"error\":null,\"binds\":[]},"
		"\"overlays\":[{\"path\":\"/etc\",\"status\":\"mounted\"},{\"path\":\"/home\",\"status\":\"mounted\"}],"
		"\"warnings\":[],\"timings_ms\":{\"start_to_state\":null,\"start_to_root\":30},\"error\":null}\n");
	free(text);

	rec.image[0] = '\0'; /* no kairos.image= on the command line: the id is unknown */
	assert_int_equal(boot_record_format(&rec, &text), 0);
	assert_non_null(strstr(text, "\"image\":null,"));
	free(text);
}

static void test_write_creates_directory(void **unused)
{
	(void)unused;
	char dir[] = "/tmp/test_boot_record.XXXXXX", path[128], buf[4096];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kairos/boot.json", dir);
	struct boot_record rec;
	boot_record_init(&rec);
	assert_int_equal(boot_record_write(&rec, path), 0);
	size_t len = 0;
	assert_int_equal(read_file_bounded(path, buf, sizeof(buf), &len), 0);
	assert_true(len > 0 && buf[len - 1] == '\n');
	unlink(path);
	snprintf(path, sizeof(path), "%s/kairos", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback_record),
		cmocka_unit_test(test_trying_and_failure_records),
		cmocka_unit_test(test_live_record),
		cmocka_unit_test(test_write_creates_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
