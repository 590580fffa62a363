/* SPDX-License-Identifier: Apache-2.0 */
/* state.env and counter.env on disk: round trips, staleness, damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boot_state.h"
#include "grubenv.h"
#include "util.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define R "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static char dir[] = "/tmp/test-boot-state-XXXXXX";

static int setup(void **unused)
{
	(void) unused;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **unused)
{
	(void) unused;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void shell(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static void installed_state(struct boot_state *s)
{
	boot_state_init(s);
	assert_int_equal(boot_state_install_recovery(s, R), 0);
	assert_int_equal(boot_state_install_active(s, A), 0);
	assert_int_equal(boot_state_mark_good(s, BOOT_SLOT_ACTIVE), 0);
	assert_int_equal(boot_state_install_active(s, B), 0);
}

static void test_roundtrip(void **unused)
{
	(void) unused;
	struct boot_state s, back;
	installed_state(&s);
	assert_int_equal(boot_state_mark_bad(&s, BOOT_SLOT_RECOVERY, "test reason"), 0);
	s.boot_next = BOOT_SLOT_PASSIVE;
	s.tries_left = 2;
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(boot_state_save_counter(dir, &s), 0);

	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_false(back.counter_damaged);
	assert_int_equal(back.gen, s.gen);
	assert_int_equal(back.tries_max, BOOT_TRIES_DEFAULT);
	assert_int_equal(back.tries_left, 2);
	assert_int_equal(back.boot_next, BOOT_SLOT_PASSIVE);
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		assert_string_equal(back.slots[i].image, s.slots[i].image);
		assert_int_equal(back.slots[i].status, s.slots[i].status);
		assert_int_equal(back.slots[i].gen, s.slots[i].gen);
		assert_string_equal(back.slots[i].reason, s.slots[i].reason);
	}
	/* What GRUB will see. */
	shell("grub-editenv %s/state.env list | grep -qx 'kairos_active=%s'", dir, B);
	shell("grub-editenv %s/state.env list | grep -qx 'kairos_passive_status=good'", dir);
	shell("grub-editenv %s/counter.env list | grep -qx 'kairos_boot_next=passive'", dir);
}

static void test_stale_counter_means_fresh_tries(void **unused)
{
	(void) unused;
	struct boot_state s, back;
	installed_state(&s);
	s.tries_left = 0;
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(boot_state_save_counter(dir, &s), 0);

	/* A new install commits state.env alone: the counter counts for the old generation. */
	assert_int_equal(boot_state_install_active(&s, A), 0);
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_int_equal(back.tries_left, BOOT_TRIES_DEFAULT);

	/* GRUB's in-place edits are read back. */
	shell("grub-editenv %s/counter.env set kairos_tries=1 kairos_tries_gen=%lu", dir,
	      s.slots[BOOT_SLOT_ACTIVE].gen);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_int_equal(back.tries_left, 1);
}

static void test_damaged_counter_keeps_slot_map(void **unused)
{
	(void) unused;
	struct boot_state s, back;
	installed_state(&s);
	assert_int_equal(boot_state_save(dir, &s), 0);

	const char *damage[] = {
		"head -c 1024 /dev/urandom > %s/counter.env",
		"head -c 300 /dev/zero > %s/counter.env",
		"grub-editenv %s/counter.env create && grub-editenv %s/counter.env set kairos_tries=-4",
		"grub-editenv %s/counter.env create && grub-editenv %s/counter.env set kairos_boot_next=../x",
		"grub-editenv %s/counter.env create && grub-editenv %s/counter.env set "
		"kairos_tries=12345678901234567890123",
	};
	for (size_t i = 0; i < ELEMENTSOF(damage); i++) {
		shell(damage[i], dir, dir);
		assert_int_equal(boot_state_load(dir, &back), 0);
		assert_true(back.counter_damaged);
		assert_int_equal(back.tries_left, BOOT_TRIES_DEFAULT);
		assert_int_equal(back.boot_next, BOOT_SLOT_NONE);
		assert_string_equal(back.slots[BOOT_SLOT_ACTIVE].image, B);
		/* Writing the counter repairs it. */
		assert_int_equal(boot_state_save_counter(dir, &back), 0);
		assert_int_equal(boot_state_load(dir, &back), 0);
		assert_false(back.counter_damaged);
	}
}

/* The loop guard's count survives a save and load; absent means 0, and a
 * map without it is written without it (byte-identical to older writers). */
static void test_auto_resets(void **unused)
{
	(void) unused;
	struct boot_state s, back;
	installed_state(&s);
	assert_int_equal(boot_state_save(dir, &s), 0);
	shell("! grep -q kairos_auto_resets %s/state.env", dir);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_int_equal(back.auto_resets, 0);

	assert_int_equal(boot_state_reset(&s, R, true), 0);
	assert_int_equal(boot_state_save(dir, &s), 0);
	shell("grep -q '^kairos_auto_resets=1$' %s/state.env", dir);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_int_equal(back.auto_resets, 1);
	assert_string_equal(back.slots[BOOT_SLOT_ACTIVE].image, R);
	assert_string_equal(back.slots[BOOT_SLOT_PASSIVE].image, "");
	assert_int_equal(back.tries_left, back.tries_max); /* the old counter is stale */
}

static void test_damaged_state(void **unused)
{
	(void) unused;
	struct boot_state s, back;
	installed_state(&s);

	assert_int_equal(boot_state_save(dir, &s), 0);
	shell("rm -f %s/state.env", dir);
	assert_int_equal(boot_state_load(dir, &back), -ENOENT);

	const char *damage[] = {
		"head -c 1024 /dev/urandom > %s/state.env",
		"grub-editenv %s/state.env set kairos_active=../../../etc/shadow",
		"grub-editenv %s/state.env set kairos_active_status=maybe",
		"grub-editenv %s/state.env set kairos_active_gen=x",
		"grub-editenv %s/state.env set kairos_tries_max=10",
		"grub-editenv %s/state.env set kairos_tries_max=0",
		/* what grub.cfg's regexps refuse too (issue 13 #7) */
		"grub-editenv %s/state.env set 'kairos_active_gen= 2'",
		"grub-editenv %s/state.env set kairos_active_gen=02",
		"grub-editenv %s/state.env set kairos_active_gen=",
		"grub-editenv %s/state.env set kairos_tries_max=03",
		"grub-editenv %s/state.env set kairos_gen=+3",
	};
	for (size_t i = 0; i < ELEMENTSOF(damage); i++) {
		assert_int_equal(boot_state_save(dir, &s), 0);
		shell(damage[i], dir);
		assert_int_equal(boot_state_load(dir, &back), -EBADMSG);
		/* Defaults: every slot empty, so the decision is recovery. */
		struct boot_decision d;
		boot_state_choose_slot(&back, &d);
		assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
		for (int j = 0; j < BOOT_SLOT_COUNT; j++)
			assert_string_equal(back.slots[j].image, "");
	}

	/* What GRUB 2.06 reads, the C side reads alike: another size, empty
	 * values (absent), a count GRUB never reads (taken as the loop
	 * guard's bound, not as a damaged map: issue 18 #7). */
	const char *read_alike[] = {
		"truncate -s 600 %s/state.env",
		"grub-editenv %s/state.env set kairos_tries_max= kairos_gen=",
		"grub-editenv %s/state.env set kairos_auto_resets=two",
		"grub-editenv %s/state.env set kairos_auto_resets=-1",
	};
	for (size_t i = 0; i < ELEMENTSOF(read_alike); i++) {
		assert_int_equal(boot_state_save(dir, &s), 0);
		shell(read_alike[i], dir);
		assert_int_equal(boot_state_load(dir, &back), 0);
		assert_string_equal(back.slots[BOOT_SLOT_ACTIVE].image, s.slots[BOOT_SLOT_ACTIVE].image);
		assert_int_equal(back.tries_max, BOOT_TRIES_DEFAULT);
		assert_int_equal(back.auto_resets, i >= 2 ? RESET_AUTO_MAX : 0);
	}
}

static void test_counter_rewritten_in_place(void **unused)
{
	(void) unused;
	struct boot_state s;
	char path[256];
	struct stat before, after;
	installed_state(&s);
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(boot_state_save_counter(dir, &s), 0);
	snprintf(path, sizeof(path), "%s/counter.env", dir);
	assert_int_equal(stat(path, &before), 0);
	s.tries_left--;
	assert_int_equal(boot_state_save_counter(dir, &s), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(after.st_size, GRUBENV_SIZE);

	/* state.env, by contrast, is always replaced (the commit point). */
	snprintf(path, sizeof(path), "%s/state.env", dir);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_stale_counter_means_fresh_tries),
		cmocka_unit_test(test_damaged_counter_keeps_slot_map),
		cmocka_unit_test(test_auto_resets),
		cmocka_unit_test(test_damaged_state),
		cmocka_unit_test(test_counter_rewritten_in_place),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
