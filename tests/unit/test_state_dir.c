/* SPDX-License-Identifier: Apache-2.0 */
/* Cleaning the state directory after an interrupted run: temporaries and
 * unreferenced images go; a slot's image and the booted image never do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_dir.h"
#include "util.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define BOOTED "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define OLD "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static char dir[] = "/tmp/test-state-dir-XXXXXX";

static void touch(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/images/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static bool exists(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/images/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* With a recovery partition of its own, the state partition's copy of the
 * recovery image (reset's healed active) goes once no active or passive slot
 * holds it; the recovery partition's own image stays. */
static void test_clean_recovery_copy(void **unused)
{
	(void) unused;
	char rdir[] = "/tmp/test-state-dir-rec-XXXXXX", path[512];
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(rdir));
	snprintf(path, sizeof(path), "%s/images", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/images", rdir);
	assert_int_equal(mkdir(path, 0755), 0);
	touch(A ".squashfs");
	touch(B ".squashfs");
	snprintf(path, sizeof(path), "%s/images/" B ".squashfs", rdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);

	struct state_dir sd;
	assert_int_equal(state_dir_open(&sd, dir, rdir), 0);
	struct boot_state s;
	boot_state_init(&s);
	strcpy(s.slots[BOOT_SLOT_ACTIVE].image, A);
	strcpy(s.slots[BOOT_SLOT_RECOVERY].image, B);
	assert_int_equal(state_dir_clean(&sd, &s, NULL), 1);
	assert_true(exists(A ".squashfs"));
	assert_false(exists(B ".squashfs"));
	assert_int_equal(access(path, F_OK), 0);
	state_dir_close(&sd);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, rdir);
	assert_int_equal(system(cmd), 0);
	strcpy(dir, "/tmp/test-state-dir-XXXXXX");
}

static void test_clean(void **unused)
{
	(void) unused;
	assert_non_null(mkdtemp(dir));
	char images[512];
	snprintf(images, sizeof(images), "%s/images", dir);
	assert_int_equal(mkdir(images, 0755), 0);

	const char *keep[] = { A ".squashfs",      A ".json",         A ".vmlinuz", A ".initrd",      B ".squashfs",
			       BOOTED ".squashfs", BOOTED ".vmlinuz", "README",     "notes.squashfs", "notes.vmlinuz" };
	/* An image goes with its metadata, kernel and initrd. */
	const char *gone[] = { OLD ".squashfs",         OLD ".json",      OLD ".vmlinuz",
			       OLD ".initrd",           ".tmp-build-123", "." A ".json.tmpXyZ12",
			       ".tmp-keep-" A ".initrd" };
	for (size_t i = 0; i < ELEMENTSOF(keep); i++)
		touch(keep[i]);
	for (size_t i = 0; i < ELEMENTSOF(gone); i++)
		touch(gone[i]);

	struct state_dir sd;
	assert_int_equal(state_dir_open(&sd, dir, NULL), 0);
	struct boot_state s;
	boot_state_init(&s);
	strcpy(s.slots[BOOT_SLOT_ACTIVE].image, A);
	strcpy(s.slots[BOOT_SLOT_RECOVERY].image, B);

	assert_int_equal(state_dir_clean(&sd, &s, BOOTED), (int) ELEMENTSOF(gone));
	for (size_t i = 0; i < ELEMENTSOF(keep); i++)
		assert_true(exists(keep[i]));
	for (size_t i = 0; i < ELEMENTSOF(gone); i++)
		assert_false(exists(gone[i]));
	/* A second run finds nothing to do. */
	assert_int_equal(state_dir_clean(&sd, &s, BOOTED), 0);

	char *path = state_dir_image_path(&sd, BOOT_SLOT_ACTIVE, A);
	assert_non_null(strstr(path, "/images/" A ".squashfs"));
	free(path);
	state_dir_close(&sd);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_lock(void **unused)
{
	(void) unused;
	char d[] = "/tmp/test-state-lock-XXXXXX";
	assert_non_null(mkdtemp(d));
	struct state_dir one, two;
	assert_int_equal(state_dir_open(&one, d, NULL), 0);
	assert_int_equal(state_dir_open(&two, d, NULL), 0);
	assert_int_equal(state_dir_lock(&one), 0);
	/* flock locks belong to the open file description: a second open conflicts. */
	assert_int_equal(state_dir_lock(&two), -EBUSY);
	state_dir_close(&one);
	assert_int_equal(state_dir_lock(&two), 0);
	state_dir_close(&two);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_recovery_copy),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
