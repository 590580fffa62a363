/* SPDX-License-Identifier: Apache-2.0 */
/* Which disk a partition is on, from sysfs link targets as the kernel
 * writes them: recovery and persistent are looked for on the state
 * partition's disk first, and kairos-upgrade refuses a partition elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "find_partition.h"
#include "util.h"

static void expect_disk(const char *target, const char *want)
{
	char disk[DISK_MAX] = "garbage";
	disk_from_sysfs_target(target, disk, sizeof(disk));
	assert_string_equal(disk, want);
}

static void test_disk_from_sysfs_target(void **unused)
{
	(void) unused;
	expect_disk("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda5", "vda");
	expect_disk("../../devices/pci0000:00/0000:00:1d.0/nvme/nvme0/nvme0n1/nvme0n1p2", "nvme0n1");
	expect_disk("../../devices/virtual/block/loop3", "loop3"); /* a whole disk is its own */
	expect_disk("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda", "vda");
	expect_disk("vda5", ""); /* no parent: unknown, no preference */
	expect_disk("", "");

	char long_name[300];
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	char target[400];
	snprintf(target, sizeof(target), "block/%s/part", long_name);
	expect_disk(target, ""); /* does not fit: unknown, never cut short */
}

static void test_disk_of_a_directory_is_unknown(void **unused)
{
	(void) unused;
	char disk[DISK_MAX];
	/* /proc is not on a block device. */
	assert_int_equal(partition_disk_of_path("/proc", disk, sizeof(disk)), -ENODEV);
	assert_string_equal(disk, "");
	assert_true(partition_disk_of_path("/nonexistent/kairos", disk, sizeof(disk)) < 0);
}

static struct partition fs(const char *devnode, const char *uuid, const char *disk)
{
	struct partition p = { 0 };
	snprintf(p.devnode, sizeof(p.devnode), "%s", devnode);
	snprintf(p.fstype, sizeof(p.fstype), "ext4");
	snprintf(p.uuid, sizeof(p.uuid), "%s", uuid);
	snprintf(p.disk, sizeof(p.disk), "%s", disk);
	return p;
}

#define OURS "ab53cac9-4171-48ee-b4cc-2a5ce94ea128"
#define THEIRS "0a7e1c8b-2a47-4e5e-9c1e-7d5b4c2f1e01"

/* The state partition: the one GRUB read, never another with the label,
 * however early it appears; a clone (the same UUID twice) is refused. */
static void test_state_is_the_uuid_grub_read(void **unused)
{
	(void) unused;
	struct partition got;
	const struct partition_rules rules = { .uuid = OURS };
	struct partition stick_first[] = { fs("/dev/sda1", THEIRS, "sda"), fs("/dev/vda5", OURS, "vda") };
	assert_int_equal(partition_choose(stick_first, 2, &rules, &got), 0);
	assert_string_equal(got.devnode, "/dev/vda5");
	assert_int_equal(got.found, 2);
	assert_string_equal(got.others, "/dev/sda1");

	/* Ours not there yet: keep waiting, never settle for the other. */
	assert_int_equal(partition_choose(stick_first, 1, &rules, &got), -EXDEV);
	assert_string_equal(got.devnode, "");
	assert_string_equal(got.others, "/dev/sda1");
	assert_int_equal(partition_choose(stick_first, 0, &rules, &got), -ENOENT);

	/* A UUID in upper case (blkid prints lower) is the same UUID. */
	const struct partition_rules upper = { .uuid = "AB53CAC9-4171-48EE-B4CC-2A5CE94EA128" };
	assert_int_equal(partition_choose(stick_first, 2, &upper, &got), 0);
	assert_string_equal(got.devnode, "/dev/vda5");

	/* A cloned disk: the same UUID twice. Neither is guessed. */
	struct partition clone[] = { fs("/dev/vda5", OURS, "vda"), fs("/dev/vdb5", OURS, "vdb"),
				     fs("/dev/sda1", THEIRS, "sda") };
	assert_int_equal(partition_choose(clone, 3, &rules, &got), -ENOTUNIQ);
	assert_string_equal(got.devnode, "");
	assert_string_equal(got.others, "/dev/vda5 /dev/vdb5 /dev/sda1");
}

/* Direct kernel boot without kairos.state_uuid=: only a label that is on
 * exactly one filesystem is taken. */
static void test_state_without_uuid_must_be_unique(void **unused)
{
	(void) unused;
	struct partition got;
	struct partition two[] = { fs("/dev/vda5", OURS, "vda"), fs("/dev/sda1", THEIRS, "sda") };
	const struct partition_rules none = { .uuid = "", .disks = "" };
	assert_int_equal(partition_choose(two, 1, &none, &got), 0);
	assert_string_equal(got.devnode, "/dev/vda5");
	assert_int_equal(got.found, 1);
	assert_string_equal(got.others, "");
	assert_int_equal(partition_choose(two, 2, &none, &got), -ENOTUNIQ);
	assert_int_equal(partition_choose(two, 2, NULL, &got), -ENOTUNIQ);
	assert_string_equal(got.others, "/dev/vda5 /dev/sda1");
}

/* Recovery and persistent: only on the state partition's disk. A stick
 * labelled COS_PERSISTENT is refused, not mounted over /root. */
static void test_others_only_on_the_state_disk(void **unused)
{
	(void) unused;
	struct partition got;
	const struct partition_rules vda = { .disks = "vda" };
	struct partition stick_only[] = { fs("/dev/sda", THEIRS, "sda") };
	assert_int_equal(partition_choose(stick_only, 1, &vda, &got), -EXDEV);
	assert_string_equal(got.devnode, "");
	assert_string_equal(got.others, "/dev/sda");

	struct partition both[] = { fs("/dev/sda", THEIRS, "sda"), fs("/dev/vda6", OURS, "vda") };
	assert_int_equal(partition_choose(both, 2, &vda, &got), 0);
	assert_string_equal(got.devnode, "/dev/vda6");
	assert_string_equal(got.others, "/dev/sda");

	/* "vd" and "vda1" are not "vda": whole words only. */
	struct partition prefix[] = { fs("/dev/vd", THEIRS, "vd"), fs("/dev/vda1", THEIRS, "vda1") };
	assert_int_equal(partition_choose(prefix, 2, &vda, &got), -EXDEV);
	/* An unknown disk ("" from sysfs) is not the state partition's. */
	struct partition unknown[] = { fs("/dev/x", THEIRS, "") };
	assert_int_equal(partition_choose(unknown, 1, &vda, &got), -EXDEV);
	const struct partition_rules unknown_state = { .disks = "?" };
	assert_int_equal(partition_choose(both, 2, &unknown_state, &got), -EXDEV);

	/* Tests name several loop devices as the node's disk. */
	const struct partition_rules loops = { .disks = "loop3 loop7" };
	struct partition on_loops[] = { fs("/dev/loop9", THEIRS, "loop9"), fs("/dev/loop7", OURS, "loop7") };
	assert_int_equal(partition_choose(on_loops, 2, &loops, &got), 0);
	assert_string_equal(got.devnode, "/dev/loop7");

	/* Twice on our own disk: refused too. */
	struct partition twice[] = { fs("/dev/vda6", OURS, "vda"), fs("/dev/vda7", THEIRS, "vda") };
	assert_int_equal(partition_choose(twice, 2, &vda, &got), -ENOTUNIQ);
}

/* A hybrid ISO written to a stick: the label on the whole disk (iso9660)
 * and on its HFS+ partition. The live medium is the ISO. */
static void test_live_medium_is_the_iso(void **unused)
{
	(void) unused;
	struct partition got;
	const struct partition_rules live = { .fstype = "iso9660" };
	struct partition stick[] = { fs("/dev/sda", "2026-11-25-17-25-14-00", "sda"),
				     fs("/dev/sda3", "2026-11-25-17-25-14-00", "sda") };
	snprintf(stick[1].fstype, sizeof(stick[1].fstype), "hfsplus");
	snprintf(stick[0].fstype, sizeof(stick[0].fstype), "iso9660");
	assert_int_equal(partition_choose(stick, 2, &live, &got), 0);
	assert_string_equal(got.devnode, "/dev/sda");
	assert_int_equal(partition_choose(&stick[1], 1, &live, &got), -EXDEV);
	assert_int_equal(partition_choose(stick, 2, NULL, &got), -ENOTUNIQ);
}

/* A stick with more partitions labelled COS_STATE than the scan keeps,
 * listed before our disk: ours is still seen. */
static void test_many_decoys_do_not_crowd_out_ours(void **unused)
{
	(void) unused;
	struct partition cand[PARTITION_CANDIDATES_MAX], got;
	const struct partition_rules rules = { .uuid = OURS };
	size_t n = 0;
	for (int i = 0; i < 40; i++) {
		char name[32];
		snprintf(name, sizeof(name), "/dev/sda%d", i + 1);
		struct partition decoy = fs(name, THEIRS, "sda");
		partition_candidates_add(cand, &n, ELEMENTSOF(cand), &decoy, &rules);
	}
	assert_int_equal(n, PARTITION_CANDIDATES_MAX);
	struct partition ours = fs("/dev/vda5", OURS, "vda");
	partition_candidates_add(cand, &n, ELEMENTSOF(cand), &ours, &rules);
	assert_int_equal(partition_choose(cand, n, &rules, &got), 0);
	assert_string_equal(got.devnode, "/dev/vda5");
	/* A clone among them is still two. */
	struct partition clone = fs("/dev/vdb5", OURS, "vdb");
	partition_candidates_add(cand, &n, ELEMENTSOF(cand), &clone, &rules);
	assert_int_equal(partition_choose(cand, n, &rules, &got), -ENOTUNIQ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_from_sysfs_target),
		cmocka_unit_test(test_disk_of_a_directory_is_unknown),
		cmocka_unit_test(test_state_is_the_uuid_grub_read),
		cmocka_unit_test(test_state_without_uuid_must_be_unique),
		cmocka_unit_test(test_others_only_on_the_state_disk),
		cmocka_unit_test(test_live_medium_is_the_iso),
		cmocka_unit_test(test_many_decoys_do_not_crowd_out_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
