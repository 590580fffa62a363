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

#include "assemble_root.h"
#include "boot_record.h"
#include "boot_record_read.h"
#include "durable.h"
#include "log.h"
#include "util.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct mount_plan plan;

static void test_fallback_record(void **unused)
{
	(void) unused;
	struct boot_options o;
	boot_options_init(&o);
	assert_int_equal(path_list_parse("/etc", &o.overlay), 0);
	assert_int_equal(path_list_parse("/home", &o.persistent), 0);
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_PASSIVE, true, &plan), 0);
	enum step_result results[2] = { STEP_MOUNTED, STEP_SEEDED };

	struct boot_record rec;
	boot_record_init(&rec);
	rec.slot = BOOT_SLOT_PASSIVE;
	memcpy(rec.image, ID_B, sizeof(rec.image));
	rec.decision = (struct boot_decision){ .slot = BOOT_SLOT_PASSIVE,
					       .reason = BOOT_REASON_FALLBACK,
					       .active_skipped = SKIP_BAD };
	boot_decision_describe(&rec.decision, rec.why, sizeof(rec.why));
	rec.counted_by = "helper";
	rec.fallback_from = BOOT_SLOT_ACTIVE;
	assert_int_equal(boot_record_add_failure(&rec, BOOT_SLOT_ACTIVE, ID_A, "image does not mount: \"bad\"\n"), 0);
	rec.persistent = "mounted";
	snprintf(rec.state_device, sizeof(rec.state_device), "/dev/vda4");
	assemble_root_record(&plan, results, &rec);
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
		"\"fallback_from\":\"active\",\"kernel_image\":null,\"verity\":null,\"failed\":[{\"slot\":\"active\","
		"\"image\":\"" ID_A "\","
		"\"error\":\"image does not mount: \\\"bad\\\"\\\\x0a\"}],\"state_device\":\"/dev/vda4\","
		"\"persistent\":{\"status\":\"mounted\",\"device\":null,\"error\":null,\"binds\":[{\"path\":\"/"
		"home\",\"status\":\"seeded\"}]},"
		"\"overlays\":[{\"path\":\"/etc\",\"status\":\"mounted\"}],"
		"\"warnings\":[\"label COS_STATE is on 2 filesystems\",\"second \\\"quoted\\\"\",\"more\",\"more\"],"
		"\"timings_ms\":{\"start_to_state\":12,\"start_to_root\":48},\"error\":null}\n");
	free(text);
}

static void test_trying_and_failure_records(void **unused)
{
	(void) unused;
	struct boot_record rec;
	boot_record_init(&rec);
	rec.slot = BOOT_SLOT_ACTIVE;
	memcpy(rec.image, ID_A, sizeof(rec.image));
	rec.decision =
		(struct boot_decision){ .slot = BOOT_SLOT_ACTIVE, .reason = BOOT_REASON_TRYING, .tries_left = 2 };
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
	assert_non_null(strstr(text, "\"warnings\":[],\"timings_ms\":{\"start_to_state\":3,\"start_to_root\":null},"
				     "\"error\":\"No slot can boot\"}"));
	free(text);

	/* At most one failure per slot. */
	for (int i = 0; i < BOOT_RECORD_FAILED_MAX; i++)
		assert_int_equal(boot_record_add_failure(&rec, BOOT_SLOT_ACTIVE, NULL, "e"), 0);
	assert_int_equal(boot_record_add_failure(&rec, BOOT_SLOT_ACTIVE, NULL, "e"), -E2BIG);
}

static void test_live_record(void **unused)
{
	(void) unused;
	struct boot_options o;
	boot_options_init(&o);
	assert_int_equal(path_list_parse("/etc", &o.overlay), 0);
	assert_int_equal(path_list_parse("/home", &o.persistent), 0);
	assert_int_equal(mount_plan_build(&o, BOOT_SLOT_NONE, false, &plan), 0);
	enum step_result results[2] = { STEP_MOUNTED, STEP_MOUNTED };

	struct boot_record rec;
	boot_record_init(&rec);
	rec.live = true;
	memcpy(rec.image, ID_A, sizeof(rec.image));
	snprintf(rec.why, sizeof(rec.why), "live: /kairos/os.squashfs on /dev/sr0 (KAIROS_LIVE)");
	rec.persistent = "not-used";
	assemble_root_record(&plan, results, &rec);
	rec.start_to_root_ms = 30;

	char *text = NULL;
	assert_int_equal(boot_record_format(&rec, &text), 0);
	assert_string_equal(
		text,
		"{\"slot\":\"live\",\"image\":\"" ID_A "\",\"reason\":\"live\","
		"\"why\":\"live: /kairos/os.squashfs on /dev/sr0 "
		"(KAIROS_LIVE)\",\"tries_left\":null,\"counted_by\":null,"
		"\"fallback_from\":null,\"kernel_image\":null,\"verity\":null,\"failed\":[],\"state_device\":null,"
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
	(void) unused;
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

/* A file in a fresh directory, removed by the caller with cleanup_tmp(). */
static char tmp_dir[64], tmp_path[128];

static const char *tmp_file(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_boot_record.XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	snprintf(tmp_path, sizeof(tmp_path), "%s/boot.json", tmp_dir);
	return tmp_path;
}

static void cleanup_tmp(void)
{
	unlink(tmp_path);
	rmdir(tmp_dir);
}

static void put_file(const char *path, const char *data, size_t len)
{
	assert_int_equal(write_file_atomic(path, data, len, 0644), 0);
}

/* The same value of a BOOT_RECORD_* string field: both NULL, or equal
 * (the reader's are its own copies of the constants). */
static void assert_value(const char *got, const char *want)
{
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
}

/* Write rec, read it back, and check the text the reader's record formats
 * to is the text written: every field made the trip. */
static void round_trip(const struct boot_record *rec, struct boot_record *back)
{
	const char *path = tmp_file();
	assert_int_equal(boot_record_write(rec, path), 0);
	json_t *json = NULL;
	assert_int_equal(boot_record_read_json(path, back, &json), 0);
	assert_non_null(json);
	assert_true(json_is_object(json));
	json_decref(json);
	char *text = NULL, *again = NULL;
	assert_int_equal(boot_record_format(rec, &text), 0);
	assert_int_equal(boot_record_format(back, &again), 0);
	assert_string_equal(again, text);
	free(text);
	free(again);
	cleanup_tmp();
}

static void test_round_trip_every_field(void **unused)
{
	(void) unused;
	struct boot_record rec, back;
	boot_record_init(&rec);
	rec.slot = BOOT_SLOT_PASSIVE;
	memcpy(rec.image, ID_B, sizeof(rec.image));
	rec.decision = (struct boot_decision){ .slot = BOOT_SLOT_PASSIVE, .reason = BOOT_REASON_FALLBACK };
	snprintf(rec.why, sizeof(rec.why), "fallback to passive: active is marked bad");
	rec.counted_by = BOOT_RECORD_COUNTED_BY_GRUB;
	rec.fallback_from = BOOT_SLOT_ACTIVE;
	memcpy(rec.kernel_image, ID_A, sizeof(rec.kernel_image));
	snprintf(rec.verity, sizeof(rec.verity), "0 16 verity 1 7:0 7:0 4096 4096 2 3 sha256 %s -", ID_A);
	assert_int_equal(boot_record_add_failure(&rec, BOOT_SLOT_ACTIVE, ID_A, "image does not mount"), 0);
	assert_int_equal(boot_record_add_failure(&rec, BOOT_SLOT_RECOVERY, NULL, "no recovery image"), 0);
	rec.persistent = BOOT_RECORD_PERSISTENT_FAILED;
	snprintf(rec.persistent_device, sizeof(rec.persistent_device), "/dev/vda5");
	snprintf(rec.persistent_error, sizeof(rec.persistent_error), "/home: No space left on device");
	snprintf(rec.state_device, sizeof(rec.state_device), "/dev/vda4");
	/* Interleaved as a plan has them (parents first): the record keeps
	 * binds and overlays apart. */
	assert_int_equal(boot_record_add_mount(&rec, true, "/home", BOOT_RECORD_MOUNT_SEEDED), 0);
	assert_int_equal(boot_record_add_mount(&rec, false, "/var", BOOT_RECORD_MOUNT_MOUNTED), 0);
	assert_int_equal(boot_record_add_mount(&rec, true, "/var/log", BOOT_RECORD_MOUNT_SKIPPED), 0);
	assert_int_equal(boot_record_add_mount(&rec, false, "/etc", BOOT_RECORD_MOUNT_NOT_MOUNTED), 0);
	boot_record_add_warning(&rec, "label COS_STATE is on 2 filesystems");
	boot_record_add_warning(&rec, "second \"quoted\" \\ one");
	rec.start_to_state_ms = 12;
	rec.start_to_root_ms = 48;
	snprintf(rec.error, sizeof(rec.error), "an error kept although it booted");

	round_trip(&rec, &back);
	assert_int_equal(back.slot, BOOT_SLOT_PASSIVE);
	assert_false(back.live);
	assert_string_equal(back.image, ID_B);
	assert_string_equal(back.reason, BOOT_RECORD_REASON_FALLBACK);
	assert_int_equal(back.decision.reason, BOOT_REASON_FALLBACK);
	assert_int_equal(back.decision.slot, BOOT_SLOT_PASSIVE);
	assert_true(boot_record_is_fallback(&back));
	assert_string_equal(back.why, rec.why);
	assert_value(back.counted_by, BOOT_RECORD_COUNTED_BY_GRUB);
	assert_int_equal(back.fallback_from, BOOT_SLOT_ACTIVE);
	assert_string_equal(back.kernel_image, ID_A);
	assert_string_equal(back.verity, rec.verity);
	assert_int_equal(back.n_failed, 2);
	assert_int_equal(back.failed[0].slot, BOOT_SLOT_ACTIVE);
	assert_string_equal(back.failed[0].image, ID_A);
	assert_string_equal(back.failed[0].error, "image does not mount");
	assert_int_equal(back.failed[1].slot, BOOT_SLOT_RECOVERY);
	assert_string_equal(back.failed[1].image, "");
	assert_string_equal(back.failed[1].error, "no recovery image");
	assert_value(back.persistent, BOOT_RECORD_PERSISTENT_FAILED);
	assert_string_equal(back.persistent_device, "/dev/vda5");
	assert_string_equal(back.persistent_error, rec.persistent_error);
	assert_string_equal(back.state_device, "/dev/vda4");
	assert_int_equal(back.n_mounts, 4);
	const struct {
		bool bind;
		const char *path, *status;
	} mounts[] = { { true, "/home", BOOT_RECORD_MOUNT_SEEDED },
		       { true, "/var/log", BOOT_RECORD_MOUNT_SKIPPED },
		       { false, "/var", BOOT_RECORD_MOUNT_MOUNTED },
		       { false, "/etc", BOOT_RECORD_MOUNT_NOT_MOUNTED } };
	for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
		assert_int_equal(back.mounts[i].bind, mounts[i].bind);
		assert_string_equal(back.mounts[i].path, mounts[i].path);
		assert_value(back.mounts[i].status, mounts[i].status);
	}
	assert_int_equal(back.n_warnings, 2);
	assert_string_equal(back.warnings[0], rec.warnings[0]);
	assert_string_equal(back.warnings[1], rec.warnings[1]);
	assert_int_equal(back.start_to_state_ms, 12);
	assert_int_equal(back.start_to_root_ms, 48);
	assert_string_equal(back.error, rec.error);

	/* Every value of every enumerated field. */
	for (int reason = BOOT_REASON_CONFIRMED; reason <= BOOT_REASON_LAST_RESORT; reason++) {
		rec.decision = (struct boot_decision){ .slot = BOOT_SLOT_ACTIVE,
						       .reason = (enum boot_reason) reason,
						       .tries_left = 2 };
		rec.slot = BOOT_SLOT_ACTIVE;
		round_trip(&rec, &back);
		assert_int_equal(back.decision.reason, reason);
		assert_string_equal(back.reason, boot_reason_to_string((enum boot_reason) reason));
		enum boot_reason parsed;
		assert_int_equal(boot_reason_from_string(back.reason, &parsed), 0);
		assert_int_equal(parsed, reason);
		assert_int_equal(back.decision.tries_left, reason == BOOT_REASON_TRYING ? 2 : 0);
		assert_false(boot_record_is_fallback(&back));
	}
	const char *const counted[] = { BOOT_RECORD_COUNTED_BY_GRUB, BOOT_RECORD_COUNTED_BY_HELPER, NULL };
	for (size_t i = 0; i < ELEMENTSOF(counted); i++) {
		rec.counted_by = counted[i];
		round_trip(&rec, &back);
		assert_value(back.counted_by, counted[i]);
	}
	const char *const persistent[] = { BOOT_RECORD_PERSISTENT_MOUNTED,  BOOT_RECORD_PERSISTENT_MISSING,
					   BOOT_RECORD_PERSISTENT_FAILED,   BOOT_RECORD_PERSISTENT_REFUSED,
					   BOOT_RECORD_PERSISTENT_NOT_USED, NULL };
	for (size_t i = 0; i < ELEMENTSOF(persistent); i++) {
		rec.persistent = persistent[i];
		round_trip(&rec, &back);
		assert_value(back.persistent, persistent[i]);
	}
	for (int slot = BOOT_SLOT_NONE; slot < BOOT_SLOT_COUNT; slot++) {
		rec.slot = rec.fallback_from = (enum boot_slot) slot;
		round_trip(&rec, &back);
		assert_int_equal(back.slot, slot);
		assert_int_equal(back.fallback_from, slot);
		assert_string_equal(back.image, slot == BOOT_SLOT_NONE ? "" : ID_B);
	}

	/* Live. */
	rec.live = true;
	round_trip(&rec, &back);
	assert_true(back.live);
	assert_int_equal(back.slot, BOOT_SLOT_NONE);
	assert_string_equal(back.reason, BOOT_RECORD_LIVE);

	/* Nothing booted: no reason, no image. */
	boot_record_init(&rec);
	rec.start_to_state_ms = 3;
	snprintf(rec.error, sizeof(rec.error), "No slot can boot");
	round_trip(&rec, &back);
	assert_int_equal(back.slot, BOOT_SLOT_NONE);
	assert_false(back.live);
	assert_string_equal(back.reason, "");
	assert_int_equal(back.start_to_root_ms, -1);
	assert_string_equal(back.error, "No slot can boot");
}

/* What a terminal could act on is written in its printable form, and read
 * back as that form: the reader never sees the raw bytes. */
static void test_round_trip_hostile_strings(void **unused)
{
	(void) unused;
	struct boot_record rec, back;
	boot_record_init(&rec);
	rec.slot = BOOT_SLOT_ACTIVE;
	snprintf(rec.why, sizeof(rec.why), "w\033]0;owned\a\xc2\x9b\xff");
	boot_record_add_warning(&rec, "label \033[2J");
	const char *path = tmp_file();
	assert_int_equal(boot_record_write(&rec, path), 0);
	assert_int_equal(boot_record_read(path, &back), 0);
	cleanup_tmp();
	assert_string_equal(back.why, "w\\x1b]0;owned\\x07\\u009b\\xff");
	assert_string_equal(back.warnings[0], "label \\x1b[2J");
}

/* A record read from the given bytes (tmp file); json set if asked. */
static void read_bytes(const char *data, size_t len, struct boot_record *rec)
{
	const char *path = tmp_file();
	put_file(path, data, len);
	assert_int_equal(boot_record_read(path, rec), 0);
	cleanup_tmp();
}

static void test_damaged_record(void **unused)
{
	(void) unused;
	struct boot_record rec;
	json_t *json = (json_t *) &rec; /* must be reset */

	/* Missing: no record, no error. */
	assert_int_equal(boot_record_read_json("/nonexistent/boot.json", &rec, &json), 0);
	assert_null(json);
	assert_int_equal(rec.slot, BOOT_SLOT_NONE);

	/* Every cut of a whole record (a write torn anywhere): no crash, and
	 * a record only when the object is whole. */
	struct boot_record full;
	boot_record_init(&full);
	full.slot = BOOT_SLOT_ACTIVE;
	memcpy(full.image, ID_A, sizeof(full.image));
	full.decision.reason = BOOT_REASON_TRYING;
	full.decision.tries_left = 1;
	snprintf(full.why, sizeof(full.why), "trying");
	assert_int_equal(boot_record_add_failure(&full, BOOT_SLOT_PASSIVE, ID_B, "e"), 0);
	assert_int_equal(boot_record_add_mount(&full, true, "/home", BOOT_RECORD_MOUNT_MOUNTED), 0);
	boot_record_add_warning(&full, "w");
	char *text = NULL;
	assert_int_equal(boot_record_format(&full, &text), 0);
	size_t len = strlen(text);
	for (size_t cut = 0; cut < len; cut++) {
		read_bytes(text, cut, &rec);
		bool whole = cut >= len - 1; /* all but the newline */
		assert_int_equal(rec.slot, whole ? BOOT_SLOT_ACTIVE : BOOT_SLOT_NONE);
	}
	free(text);

	/* Not an object; binary; a NUL inside; a duplicate key. */
	static const char *const bad[] = { "[1,2]",
					   "\"active\"",
					   "null",
					   "42",
					   "",
					   "\xff\xfe{}",
					   "{\"slot\":\"active\",\"slot\":\"passive\"}",
					   "{\"slot\":\"act\\u0000ive\"}" };
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		read_bytes(bad[i], strlen(bad[i]), &rec);
		assert_int_equal(rec.slot, BOOT_SLOT_NONE);
	}
	static const char nul[] = "{\"slot\":\"active\"\0,\"why\":\"x\"}";
	read_bytes(nul, sizeof(nul) - 1, &rec);
	assert_int_equal(rec.slot, BOOT_SLOT_NONE);

	/* Wrong types and unknown values: each field falls back to "unknown". */
	static const char wrong[] =
		"{\"slot\":1,\"image\":\"zz\",\"reason\":\"sideways\",\"why\":[],\"tries_left\":-1,"
		"\"counted_by\":\"someone\",\"fallback_from\":\"elsewhere\",\"kernel_image\":\"" ID_A "x\","
		"\"failed\":\"all\",\"state_device\":7,\"persistent\":[\"mounted\"],\"overlays\":{},"
		"\"warnings\":[1,{},\"kept\"],\"timings_ms\":{\"start_to_state\":-5,\"start_to_root\":1.5},"
		"\"error\":false}";
	read_bytes(wrong, sizeof(wrong) - 1, &rec);
	assert_int_equal(rec.slot, BOOT_SLOT_NONE);
	assert_string_equal(rec.image, "");
	assert_string_equal(rec.reason, "sideways"); /* shown as it is */
	assert_false(boot_record_is_fallback(&rec));
	assert_string_equal(rec.why, "");
	assert_int_equal(rec.decision.tries_left, 0);
	assert_null(rec.counted_by);
	assert_int_equal(rec.fallback_from, BOOT_SLOT_NONE);
	assert_string_equal(rec.kernel_image, "");
	assert_int_equal(rec.n_failed, 0);
	assert_string_equal(rec.state_device, "");
	assert_null(rec.persistent);
	assert_int_equal(rec.n_mounts, 0);
	assert_int_equal(rec.n_warnings, 1);
	assert_string_equal(rec.warnings[0], "kept");
	assert_int_equal(rec.start_to_state_ms, -1);
	assert_int_equal(rec.start_to_root_ms, -1);
	assert_string_equal(rec.error, "");

	/* Too much of everything: cut to the record's bounds. */
	char *big = NULL;
	size_t big_len = 0;
	FILE *f = open_memstream(&big, &big_len);
	assert_non_null(f);
	fprintf(f, "{\"slot\":\"passive\",\"reason\":\"%0300d\",\"why\":\"", 0);
	for (int i = 0; i < 100000; i++)
		fputc('w', f);
	fprintf(f, "\",\"tries_left\":1099511627776,\"failed\":[");
	for (int i = 0; i < 100; i++)
		fprintf(f, "%s{\"slot\":\"active\",\"image\":\"" ID_A "\",\"error\":\"e\"}", i ? "," : "");
	fprintf(f, "],\"persistent\":{\"status\":\"mounted\",\"binds\":[");
	for (int i = 0; i < 1000; i++)
		fprintf(f, "%s{\"path\":\"/p%d\",\"status\":\"bogus\"}", i ? "," : "", i);
	fprintf(f, "]},\"warnings\":[");
	for (int i = 0; i < 100; i++)
		fprintf(f, "%s\"w%d\"", i ? "," : "", i);
	fprintf(f, "]}");
	assert_int_equal(fclose(f), 0);
	read_bytes(big, big_len, &rec);
	free(big);
	assert_int_equal(rec.slot, BOOT_SLOT_PASSIVE);
	assert_int_equal(strlen(rec.reason), sizeof(rec.reason) - 1);
	assert_int_equal(strlen(rec.why), sizeof(rec.why) - 1);
	assert_int_equal(rec.decision.tries_left, 0);
	assert_int_equal(rec.n_failed, BOOT_RECORD_FAILED_MAX);
	assert_int_equal(rec.n_mounts, BOOT_RECORD_MOUNTS_MAX);
	assert_null(rec.mounts[0].status);
	assert_int_equal(rec.n_warnings, BOOT_RECORD_WARNINGS_MAX);
	assert_string_equal(rec.warnings[3], "w3");
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback_record),
		cmocka_unit_test(test_trying_and_failure_records),
		cmocka_unit_test(test_live_record),
		cmocka_unit_test(test_write_creates_directory),
		cmocka_unit_test(test_round_trip_every_field),
		cmocka_unit_test(test_round_trip_hostile_strings),
		cmocka_unit_test(test_damaged_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
