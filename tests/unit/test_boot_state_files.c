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
#include <limits.h>
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

/* kairos_active_unconfirmed: written by the counter's writer, read back for
 * the active's generation only; present for it (any digit, 0 too) arms the
 * count, absent, empty or another generation's does not (an older
 * release's mark-good never clears it), and an unarmed count is written
 * empty: the generation written beside it must not arm it. */
static void test_unconfirmed_count(void **unused)
{
	(void) unused;
	struct boot_state s, back;
	installed_state(&s);
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_ACTIVE), 0);
	s.unconfirmed = 2;
	s.unconfirmed_armed = true;
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(boot_state_save_counter(dir, &s), 0);
	shell("grub-editenv %s/counter.env list | grep -qx 'kairos_active_unconfirmed=2'", dir);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_false(back.counter_damaged);
	assert_true(back.unconfirmed_armed);
	assert_int_equal(back.unconfirmed, 2);
	/* GRUB's in-place edits are read back; 3..9 are taken as they are */
	shell("grub-editenv %s/counter.env set kairos_active_unconfirmed=7", dir);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_int_equal(back.unconfirmed, 7);
	shell("grub-editenv %s/counter.env set kairos_active_unconfirmed=0", dir);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_true(back.unconfirmed_armed);
	assert_int_equal(back.unconfirmed, 0);
	shell("grub-editenv %s/counter.env set kairos_active_unconfirmed=", dir);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_false(back.counter_damaged);
	assert_false(back.unconfirmed_armed);
	assert_int_equal(back.unconfirmed, 0);
	shell("grub-editenv %s/counter.env unset kairos_active_unconfirmed", dir);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_false(back.unconfirmed_armed);
	shell("grub-editenv %s/counter.env set kairos_active_unconfirmed=0 kairos_tries_gen=%lu", dir,
	      s.slots[BOOT_SLOT_ACTIVE].gen + 1);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_false(back.unconfirmed_armed);
	assert_int_equal(back.unconfirmed, 0);
	/* written for the active's generation (a try, a one-shot cleared):
	 * another generation's key does not come along, it is written empty */
	assert_int_equal(boot_state_save_counter(dir, &back), 0);
	shell("grub-editenv %s/counter.env list | grep -qx 'kairos_active_unconfirmed='", dir);
	shell("grub-editenv %s/counter.env list | grep -qx 'kairos_tries_gen=%lu'", dir, s.slots[BOOT_SLOT_ACTIVE].gen);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_false(back.unconfirmed_armed);
	shell("grub-editenv %s/counter.env set kairos_active_unconfirmed=2", dir);
	shell("grub-editenv %s/counter.env unset kairos_tries_gen", dir);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_false(back.unconfirmed_armed);
	assert_int_equal(back.unconfirmed, 0);
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
		/* GRUB reads one digit: anything else is a damaged counter */
		"grub-editenv %s/counter.env create && grub-editenv %s/counter.env set kairos_active_unconfirmed=x",
		"grub-editenv %s/counter.env create && grub-editenv %s/counter.env set kairos_active_unconfirmed=01",
		"grub-editenv %s/counter.env create && grub-editenv %s/counter.env set kairos_active_unconfirmed=10",
		"grub-editenv %s/counter.env create && grub-editenv %s/counter.env set kairos_active_unconfirmed=-1",
	};
	for (size_t i = 0; i < ELEMENTSOF(damage); i++) {
		shell(damage[i], dir, dir);
		assert_int_equal(boot_state_load(dir, &back), 0);
		assert_true(back.counter_damaged);
		assert_int_equal(back.tries_left, BOOT_TRIES_DEFAULT);
		assert_int_equal(back.boot_next, BOOT_SLOT_NONE);
		assert_int_equal(back.unconfirmed, 0);
		assert_false(back.unconfirmed_armed);
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

/* A record of image i: root hash bytes i, blocks and start as given. */
static struct verity_record record(uint8_t i, uint64_t data_blocks)
{
	struct verity_record rec = { .data_blocks = data_blocks, .hash_offset = data_blocks * VERITY_BLOCK_SIZE };
	memset(rec.root_hash, i, sizeof(rec.root_hash));
	rec.hash_start_block = verity_hash_start_block(rec.hash_offset);
	return rec;
}

/* Each slot's verity record is committed with it and read back exactly;
 * a slot installed without one has no key. */
static void test_verity_roundtrip(void **unused)
{
	(void) unused;
	struct boot_state s, back;
	installed_state(&s);
	struct verity_record a = record(0xab, 262144), r = record(0x01, 1);
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_ACTIVE, &a), 0);
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_RECOVERY, &r), 0);
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_memory_equal(back.slots, s.slots, sizeof(s.slots));
	assert_int_equal(back.slots[BOOT_SLOT_ACTIVE].verity.state, SLOT_VERITY_SET);
	assert_int_equal(back.slots[BOOT_SLOT_ACTIVE].verity.data_blocks, 262144);
	assert_int_equal(back.slots[BOOT_SLOT_ACTIVE].verity.hash_start_block, 262145);
	assert_int_equal(back.slots[BOOT_SLOT_PASSIVE].verity.state, SLOT_VERITY_NONE);
	shell("grub-editenv %s/state.env list | grep -qx 'kairos_active_verity=%s:262144:262145'", dir,
	      "abababababababababababababababababababababababababababababababab");
	shell("! grep -q kairos_passive_verity %s/state.env", dir);

	/* Rollback carries the record with its image; an install without one clears it. */
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_PASSIVE), 0);
	assert_int_equal(boot_state_rollback(&s), 0);
	assert_int_equal(s.slots[BOOT_SLOT_PASSIVE].verity.state, SLOT_VERITY_SET);
	assert_int_equal(s.slots[BOOT_SLOT_ACTIVE].verity.state, SLOT_VERITY_NONE);
	assert_int_equal(boot_state_reset(&s, R, false), 0);
	assert_int_equal(s.slots[BOOT_SLOT_ACTIVE].verity.state, SLOT_VERITY_NONE);
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_ACTIVE, NULL), 0);
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_PASSIVE, &a), -ENOENT); /* emptied by the reset */
}

/* Records state.env cannot hold are refused before the commit. */
static void test_verity_set_bounds(void **unused)
{
	(void) unused;
	struct boot_state s;
	installed_state(&s);
	struct verity_record rec = record(1, SLOT_VERITY_BLOCKS_MAX);
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_ACTIVE, &rec), 0);
	rec = record(1, SLOT_VERITY_BLOCKS_MAX + 1);
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_ACTIVE, &rec), -EINVAL);
	rec = record(1, 10);
	rec.hash_offset += 512; /* not a block */
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_ACTIVE, &rec), -EINVAL);
	rec = record(1, 10);
	rec.hash_offset -= VERITY_BLOCK_SIZE; /* the tree inside the data */
	rec.hash_start_block = verity_hash_start_block(rec.hash_offset);
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_ACTIVE, &rec), -EINVAL);
	rec = record(1, 10);
	rec.hash_start_block++; /* not where the superblock says */
	assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_ACTIVE, &rec), -EINVAL);
	rec = record(1, 10);
	assert_int_equal(boot_state_set_verity(&s, (enum boot_slot) 7, &rec), -EINVAL);
}

/* A kairos_<slot>_verity that does not parse damages that slot only (never
 * "no verity"), stays damaged through a save, and the rest of the map loads. */
static void test_verity_damaged(void **unused)
{
	(void) unused;
	static const char *const bad[] = {
		"-",
		"garbage",
		"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB:10:11", /* uppercase */
		"ababababababababababababababababababababababababababababababab:10:11",   /* 62 digits */
		"abababababababababababababababababababababababababababababababab0:10:11",
		"abababababababababababababababababababababababababababababababab:10",
		"abababababababababababababababababababababababababababababababab:10:11:",
		"abababababababababababababababababababababababababababababababab:10:11:12",
		"abababababababababababababababababababababababababababababababab:0:1",
		"abababababababababababababababababababababababababababababababab:010:11",
		"abababababababababababababababababababababababababababababababab:+10:11",
		"abababababababababababababababababababababababababababababababab:10: 11",
		"abababababababababababababababababababababababababababababababab:10:10", /* tree in the data */
		"abababababababababababababababababababababababababababababababab:10:9",
		"abababababababababababababababababababababababababababababababab:1099511627777:1099511627778",
		"abababababababababababababababababababababababababababababababab:1:1099511627778",
		"abababababababababababababababababababababababababababababababab:18446744073709551616:1",
		"abababababababababababababababababababababababababababababababab:1:2\\",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct boot_state s, back;
		installed_state(&s);
		struct verity_record rec = record(0xab, 10);
		assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_ACTIVE, &rec), 0);
		assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_PASSIVE, &rec), 0);
		assert_int_equal(boot_state_save(dir, &s), 0);
		shell("grub-editenv %s/state.env set 'kairos_passive_verity=%s'", dir, bad[i]);
		assert_int_equal(boot_state_load(dir, &back), 0);
		assert_string_equal(back.slots[BOOT_SLOT_PASSIVE].image, s.slots[BOOT_SLOT_PASSIVE].image);
		if (back.slots[BOOT_SLOT_PASSIVE].verity.state != SLOT_VERITY_DAMAGED)
			fail_msg("accepted kairos_passive_verity=%s", bad[i]);
		assert_int_equal(back.slots[BOOT_SLOT_ACTIVE].verity.state, SLOT_VERITY_SET);
		/* Saved again (any other commit), it stays damaged. */
		assert_int_equal(boot_state_save(dir, &back), 0);
		assert_int_equal(boot_state_load(dir, &s), 0);
		assert_int_equal(s.slots[BOOT_SLOT_PASSIVE].verity.state, SLOT_VERITY_DAMAGED);
		/* Installed again, the slot gets a record of its own. */
		assert_int_equal(boot_state_set_verity(&s, BOOT_SLOT_PASSIVE, &rec), 0);
		assert_int_equal(s.slots[BOOT_SLOT_PASSIVE].verity.state, SLOT_VERITY_SET);
	}
	/* The bounds themselves are accepted. */
	struct slot_verity v;
	const char *why;
	assert_int_equal(
		slot_verity_parse(
			"abababababababababababababababababababababababababababababababab:1099511627776:1099511627777",
			&v, &why),
		0);
	assert_int_equal(v.data_blocks, SLOT_VERITY_BLOCKS_MAX);
}

/* The largest state.env: three slots with records at their bounds,
 * 20-digit generations and the longest reasons, all backslashes (escaped,
 * twice their length): the reasons give way, the records never. */
static void test_verity_largest_state_fits(void **unused)
{
	(void) unused;
	struct boot_state s, back;
	installed_state(&s);
	s.gen = 9999999999999999999UL; /* 19 digits, the most parse_ulong() reads */
	s.auto_resets = RESET_AUTO_MAX;
	s.tries_max = BOOT_TRIES_LIMIT;
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		struct verity_record rec = record((uint8_t) (0xa0 + i), SLOT_VERITY_BLOCKS_MAX);
		assert_int_equal(boot_state_set_verity(&s, (enum boot_slot) i, &rec), 0);
		s.slots[i].gen = 9999999999999999999UL;
		memset(s.slots[i].reason, '\\', SLOT_REASON_MAX - 1);
		s.slots[i].status = SLOT_STATUS_BAD;
	}
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(boot_state_load(dir, &back), 0);
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		assert_memory_equal(&back.slots[i].verity, &s.slots[i].verity, sizeof(s.slots[i].verity));
		assert_int_equal(back.slots[i].gen, 9999999999999999999UL);
		assert_int_equal(strncmp(back.slots[i].reason, s.slots[i].reason, strlen(back.slots[i].reason)), 0);
	}
	/* Realistic: records of 4 GiB images, 7-digit generations (ten
	 * million upgrades), active and passive bad with plain reasons of 63
	 * characters: nothing is cut. */
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		struct verity_record rec = record((uint8_t) (0xa0 + i), 1048576);
		assert_int_equal(boot_state_set_verity(&s, (enum boot_slot) i, &rec), 0);
		memset(s.slots[i].reason, 'r', SLOT_REASON_MAX - 1);
		s.slots[i].gen = 9999999;
	}
	memset(s.slots[BOOT_SLOT_RECOVERY].reason, 0, SLOT_REASON_MAX);
	s.gen = 9999999;
	assert_int_equal(boot_state_save(dir, &s), 0);
	assert_int_equal(boot_state_load(dir, &back), 0);
	assert_memory_equal(back.slots, s.slots, sizeof(s.slots));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_stale_counter_means_fresh_tries),
		cmocka_unit_test(test_unconfirmed_count),
		cmocka_unit_test(test_damaged_counter_keeps_slot_map),
		cmocka_unit_test(test_auto_resets),
		cmocka_unit_test(test_damaged_state),
		cmocka_unit_test(test_counter_rewritten_in_place),
		cmocka_unit_test(test_verity_roundtrip),
		cmocka_unit_test(test_verity_set_bounds),
		cmocka_unit_test(test_verity_damaged),
		cmocka_unit_test(test_verity_largest_state_fits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
