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

static void expect_disk(const char *target, const char *want)
{
	char disk[DISK_MAX] = "garbage";
	disk_from_sysfs_target(target, disk, sizeof(disk));
	assert_string_equal(disk, want);
}

static void test_disk_from_sysfs_target(void **unused)
{
	(void)unused;
	expect_disk("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda5", "vda");
	expect_disk("../../devices/pci0000:00/0000:00:1d.0/nvme/nvme0/nvme0n1/nvme0n1p2", "nvme0n1");
	expect_disk("../../devices/virtual/block/loop3", "loop3"); /* a whole disk is its own */
	expect_disk("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda", "vda");
	expect_disk("vda5", "");   /* no parent: unknown, no preference */
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
	(void)unused;
	char disk[DISK_MAX];
	/* /proc is not on a block device. */
	assert_int_equal(partition_disk_of_path("/proc", disk, sizeof(disk)), -ENODEV);
	assert_string_equal(disk, "");
	assert_true(partition_disk_of_path("/nonexistent/kairos", disk, sizeof(disk)) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_from_sysfs_target),
		cmocka_unit_test(test_disk_of_a_directory_is_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
