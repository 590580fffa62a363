/* SPDX-License-Identifier: Apache-2.0 */
/* Every transition of the slot-choice rules, as a table: the state before a
 * boot, the slot chosen, the reason, and the counter after. grub/grub.cfg
 * implements the same rules; the QEMU boot tests check it against this. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_state.h"
#include "util.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define R "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

enum { E = -1 }; /* slot empty */
#define NEW SLOT_STATUS_NEW
#define GOOD SLOT_STATUS_GOOD
#define BAD SLOT_STATUS_BAD

struct row {
	const char *name;
	int active, passive; /* status, or E for empty */
	unsigned tries_left;
	enum boot_slot boot_next;
	/* expected */
	enum boot_slot slot;
	enum boot_reason reason;
	unsigned tries_after;
	bool counter_written;
	enum slot_skip_cause active_skipped, passive_skipped;
	/* kairos_active_unconfirmed before and after (0 when not given) */
	unsigned unconfirmed, unconfirmed_after;
	/* the count not armed (no key for this generation: an older release's
	 * mark-good, or a new install not yet healthy): neither counted nor
	 * passed over */
	bool unarmed;
};

static const struct row rows[] = {
	/* confirmed active: never spends a try; each boot is counted until
	 * mark-good clears the count (issue 17: two that do not come up) */
	{ "good active boots, spends no try, counts the boot", GOOD, GOOD, 3, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE,
	  BOOT_REASON_CONFIRMED, 3, true, SKIP_NONE, SKIP_NONE, 0, 1, false },
	{ "good active with exhausted counter still boots", GOOD, GOOD, 0, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE,
	  BOOT_REASON_CONFIRMED, 0, true, SKIP_NONE, SKIP_NONE, 0, 1, false },
	{ "good active, empty passive", GOOD, E, 3, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE, BOOT_REASON_CONFIRMED, 3, true,
	  SKIP_NONE, SKIP_NONE, 0, 1, false },
	{ "good active, one boot that did not come up: boots, count 2", GOOD, GOOD, 3, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE,
	  BOOT_REASON_CONFIRMED, 3, true, SKIP_NONE, SKIP_NONE, 1, 2, false },
	{ "good active, two that did not come up -> good passive", GOOD, GOOD, 3, BOOT_SLOT_NONE, BOOT_SLOT_PASSIVE,
	  BOOT_REASON_FALLBACK, 3, false, SKIP_UNCONFIRMED, SKIP_NONE, 2, 2, false },
	{ "good active, count 9 (any digit) -> good passive", GOOD, GOOD, 3, BOOT_SLOT_NONE, BOOT_SLOT_PASSIVE,
	  BOOT_REASON_FALLBACK, 3, false, SKIP_UNCONFIRMED, SKIP_NONE, 9, 9, false },
	{ "good active, two that did not come up, empty passive -> recovery", GOOD, E, 3, BOOT_SLOT_NONE,
	  BOOT_SLOT_RECOVERY, BOOT_REASON_FALLBACK, 3, false, SKIP_UNCONFIRMED, SKIP_EMPTY, 2, 2, false },
	{ "good active, two that did not come up, new passive -> recovery", GOOD, NEW, 3, BOOT_SLOT_NONE,
	  BOOT_SLOT_RECOVERY, BOOT_REASON_FALLBACK, 3, false, SKIP_UNCONFIRMED, SKIP_NOT_CONFIRMED, 2, 2, false },
	{ "one-shot active over two that did not come up: booted, not counted", GOOD, GOOD, 3, BOOT_SLOT_ACTIVE,
	  BOOT_SLOT_ACTIVE, BOOT_REASON_ONE_SHOT, 3, true, SKIP_NONE, SKIP_NONE, 2, 2, false },
	{ "one-shot passive: the active's count untouched", GOOD, GOOD, 3, BOOT_SLOT_PASSIVE, BOOT_SLOT_PASSIVE,
	  BOOT_REASON_ONE_SHOT, 3, true, SKIP_NONE, SKIP_NONE, 1, 1, false },
	{ "good active, count unarmed (older release): boots, not counted, nothing written", GOOD, GOOD, 3,
	  BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE, BOOT_REASON_CONFIRMED, 3, false, SKIP_NONE, SKIP_NONE, 0, 0, true },
	{ "good active, unarmed count of 2 is not a reason to pass over", GOOD, GOOD, 3, BOOT_SLOT_NONE,
	  BOOT_SLOT_ACTIVE, BOOT_REASON_CONFIRMED, 3, false, SKIP_NONE, SKIP_NONE, 2, 2, true },
	{ "good active, unarmed, empty passive: boots", GOOD, E, 0, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE,
	  BOOT_REASON_CONFIRMED, 0, false, SKIP_NONE, SKIP_NONE, 0, 0, true },
	{ "new active: a count is not its business, tries are", NEW, GOOD, 3, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE,
	  BOOT_REASON_TRYING, 2, true, SKIP_NONE, SKIP_NONE, 2, 2, false },
	/* new active: spends one try per boot */
	{ "new active, 3 tries: spends to 2", NEW, GOOD, 3, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE, BOOT_REASON_TRYING, 2,
	  true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "new active, 2 tries: spends to 1", NEW, GOOD, 2, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE, BOOT_REASON_TRYING, 1,
	  true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "new active, last try: spends to 0", NEW, GOOD, 1, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE, BOOT_REASON_TRYING, 0,
	  true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "new active, 9 tries: spends to 8", NEW, GOOD, 9, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE, BOOT_REASON_TRYING, 8,
	  true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "new active, empty passive, tries left", NEW, E, 1, BOOT_SLOT_NONE, BOOT_SLOT_ACTIVE, BOOT_REASON_TRYING, 0,
	  true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	/* exhausted or bad active: fallback */
	{ "new active exhausted -> good passive", NEW, GOOD, 0, BOOT_SLOT_NONE, BOOT_SLOT_PASSIVE, BOOT_REASON_FALLBACK,
	  0, false, SKIP_TRIES_EXHAUSTED, SKIP_NONE, 0, 0, false },
	{ "new active exhausted, new passive -> recovery", NEW, NEW, 0, BOOT_SLOT_NONE, BOOT_SLOT_RECOVERY,
	  BOOT_REASON_FALLBACK, 0, false, SKIP_TRIES_EXHAUSTED, SKIP_NOT_CONFIRMED, 0, 0, false },
	{ "new active exhausted, bad passive -> recovery", NEW, BAD, 0, BOOT_SLOT_NONE, BOOT_SLOT_RECOVERY,
	  BOOT_REASON_FALLBACK, 0, false, SKIP_TRIES_EXHAUSTED, SKIP_BAD, 0, 0, false },
	{ "new active exhausted, empty passive -> recovery", NEW, E, 0, BOOT_SLOT_NONE, BOOT_SLOT_RECOVERY,
	  BOOT_REASON_FALLBACK, 0, false, SKIP_TRIES_EXHAUSTED, SKIP_EMPTY, 0, 0, false },
	{ "bad active -> good passive", BAD, GOOD, 3, BOOT_SLOT_NONE, BOOT_SLOT_PASSIVE, BOOT_REASON_FALLBACK, 3, false,
	  SKIP_BAD, SKIP_NONE, 0, 0, false },
	{ "bad active, bad passive -> recovery", BAD, BAD, 3, BOOT_SLOT_NONE, BOOT_SLOT_RECOVERY, BOOT_REASON_FALLBACK,
	  3, false, SKIP_BAD, SKIP_BAD, 0, 0, false },
	{ "empty active -> good passive", E, GOOD, 3, BOOT_SLOT_NONE, BOOT_SLOT_PASSIVE, BOOT_REASON_FALLBACK, 3, false,
	  SKIP_EMPTY, SKIP_NONE, 0, 0, false },
	{ "nothing installed -> recovery", E, E, 3, BOOT_SLOT_NONE, BOOT_SLOT_RECOVERY, BOOT_REASON_FALLBACK, 3, false,
	  SKIP_EMPTY, SKIP_EMPTY, 0, 0, false },
	/* one-shot: wins once, spends nothing, is cleared */
	{ "one-shot recovery over good active", GOOD, GOOD, 3, BOOT_SLOT_RECOVERY, BOOT_SLOT_RECOVERY,
	  BOOT_REASON_ONE_SHOT, 3, true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "one-shot passive over new active spends nothing", NEW, GOOD, 2, BOOT_SLOT_PASSIVE, BOOT_SLOT_PASSIVE,
	  BOOT_REASON_ONE_SHOT, 2, true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "one-shot active when exhausted boots it once", NEW, GOOD, 0, BOOT_SLOT_ACTIVE, BOOT_SLOT_ACTIVE,
	  BOOT_REASON_ONE_SHOT, 0, true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "one-shot bad passive: a person's choice wins", GOOD, BAD, 3, BOOT_SLOT_PASSIVE, BOOT_SLOT_PASSIVE,
	  BOOT_REASON_ONE_SHOT, 3, true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "one-shot of empty passive is dropped, normal rules", GOOD, E, 3, BOOT_SLOT_PASSIVE, BOOT_SLOT_ACTIVE,
	  BOOT_REASON_CONFIRMED, 3, true, SKIP_NONE, SKIP_NONE, 0, 1, false },
	{ "one-shot of empty passive dropped, new active spends", NEW, E, 2, BOOT_SLOT_PASSIVE, BOOT_SLOT_ACTIVE,
	  BOOT_REASON_TRYING, 1, true, SKIP_NONE, SKIP_NONE, 0, 0, false },
	{ "one-shot recovery with nothing installed", E, E, 3, BOOT_SLOT_RECOVERY, BOOT_SLOT_RECOVERY,
	  BOOT_REASON_ONE_SHOT, 3, true, SKIP_NONE, SKIP_NONE, 0, 0, false },
};

static void make_state(const struct row *row, struct boot_state *s)
{
	boot_state_init(s);
	s->gen = 2;
	if (row->active != E) {
		strcpy(s->slots[BOOT_SLOT_ACTIVE].image, A);
		s->slots[BOOT_SLOT_ACTIVE].status = (enum slot_status) row->active;
		s->slots[BOOT_SLOT_ACTIVE].gen = 2;
	}
	if (row->passive != E) {
		strcpy(s->slots[BOOT_SLOT_PASSIVE].image, B);
		s->slots[BOOT_SLOT_PASSIVE].status = (enum slot_status) row->passive;
		s->slots[BOOT_SLOT_PASSIVE].gen = 1;
	}
	strcpy(s->slots[BOOT_SLOT_RECOVERY].image, R);
	s->slots[BOOT_SLOT_RECOVERY].status = SLOT_STATUS_GOOD;
	s->tries_left = row->tries_left;
	s->boot_next = row->boot_next;
	s->unconfirmed = row->unconfirmed;
	s->unconfirmed_armed = !row->unarmed;
}

static void test_transition(void **state)
{
	const struct row *row = *state;
	struct boot_state s;
	struct boot_decision d;
	make_state(row, &s);
	boot_state_choose_slot(&s, &d);
	bool written = boot_state_apply(&s, &d);

	char why[256];
	boot_decision_describe(&d, why, sizeof(why));
	print_message("# %s -> %s\n", row->name, why);
	assert_int_equal(d.slot, row->slot);
	assert_int_equal(d.reason, row->reason);
	assert_int_equal(s.tries_left, row->tries_after);
	assert_int_equal(written, row->counter_written);
	assert_int_equal(d.active_skipped, row->active_skipped);
	assert_int_equal(d.passive_skipped, row->passive_skipped);
	assert_int_equal(s.boot_next, BOOT_SLOT_NONE);
	assert_int_equal(s.unconfirmed, row->unconfirmed_after);
	assert_int_equal(s.unconfirmed_armed, !row->unarmed); /* only mark-good arms */
	if (row->active_skipped == SKIP_UNCONFIRMED)
		assert_non_null(strstr(why, ": " BOOT_UNCONFIRMED_REASON));
}

/* A new active that never gets confirmed boots exactly tries_max times, then
 * falls back for good; a confirmed one never spends across many boots. */
static void test_boot_sequences(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_decision d;
	const struct row start = { .active = GOOD, .passive = E, .tries_left = 3, .boot_next = BOOT_SLOT_NONE };
	make_state(&start, &s);

	assert_int_equal(boot_state_install_active(&s, B), 0);
	assert_string_equal(s.slots[BOOT_SLOT_PASSIVE].image, A);
	assert_int_equal(s.slots[BOOT_SLOT_ACTIVE].status, SLOT_STATUS_NEW);
	for (int boot = 0; boot < 3; boot++) {
		boot_state_choose_slot(&s, &d);
		assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
		assert_true(boot_state_apply(&s, &d));
	}
	for (int boot = 0; boot < 5; boot++) {
		boot_state_choose_slot(&s, &d);
		assert_int_equal(d.slot, BOOT_SLOT_PASSIVE);
		assert_false(boot_state_apply(&s, &d));
	}

	/* Re-installing the same image keeps passive. */
	assert_int_equal(boot_state_install_active(&s, B), 0);
	assert_string_equal(s.slots[BOOT_SLOT_PASSIVE].image, A);
	assert_string_equal(s.slots[BOOT_SLOT_ACTIVE].image, B);

	/* Re-installing resets the tries; confirming stops the spending. */
	assert_int_equal(boot_state_install_active(&s, R), 0);
	assert_int_equal(s.tries_left, 3);
	boot_state_choose_slot(&s, &d);
	boot_state_apply(&s, &d);
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_ACTIVE), 0);
	/* Not armed until a healthy boot's mark-good arms it: not counted. */
	assert_false(s.unconfirmed_armed);
	boot_state_choose_slot(&s, &d);
	assert_int_equal(d.reason, BOOT_REASON_CONFIRMED);
	assert_false(boot_state_apply(&s, &d));
	s.unconfirmed_armed = true; /* mark-good (cmd_mark.c's clear_unconfirmed) */
	for (int boot = 0; boot < 5; boot++) {
		boot_state_choose_slot(&s, &d);
		assert_int_equal(d.reason, BOOT_REASON_CONFIRMED);
		assert_true(boot_state_apply(&s, &d)); /* counted: it may not come up */
		assert_int_equal(s.unconfirmed, 1);
		s.unconfirmed = 0; /* it did: mark-good */
	}
	assert_int_equal(s.tries_left, 2);

	/* Issue 17: a confirmed active that stops coming up (its init is
	 * corrupt) boots twice, then recovery (passive here is B, never
	 * confirmed), for good: marked bad. */
	for (int boot = 0; boot < 2; boot++) {
		boot_state_choose_slot(&s, &d);
		assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
		assert_false(boot_state_retire_unconfirmed(&s, d.slot));
		assert_true(boot_state_apply(&s, &d));
	}
	boot_state_choose_slot(&s, &d);
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(d.active_skipped, SKIP_UNCONFIRMED);
	assert_false(boot_state_apply(&s, &d));
	assert_true(boot_state_retire_unconfirmed(&s, d.slot));
	assert_int_equal(s.slots[BOOT_SLOT_ACTIVE].status, SLOT_STATUS_BAD);
	assert_string_equal(s.slots[BOOT_SLOT_ACTIVE].reason, BOOT_UNCONFIRMED_REASON);
	assert_false(boot_state_retire_unconfirmed(&s, d.slot)); /* once */
	boot_state_choose_slot(&s, &d);
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(d.active_skipped, SKIP_BAD);
}

/* The fall-through of a boot (GRUB's kairos_fallback) counts a confirmed
 * active it falls to, and passes over one with two boots that did not come
 * up; a boot of the active itself (a person's pick) never retires it. */
static void test_fallback_counts_confirmed(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_decision d;
	const struct row start = { .active = GOOD, .passive = GOOD, .tries_left = 3, .boot_next = BOOT_SLOT_NONE };
	make_state(&start, &s);
	bool failed[BOOT_SLOT_COUNT] = { [BOOT_SLOT_PASSIVE] = true };
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_true(d.count_boot);
	assert_true(boot_state_apply(&s, &d));
	assert_int_equal(s.unconfirmed, 1);
	s.unconfirmed = BOOT_UNCONFIRMED_MAX;
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(d.active_skipped, SKIP_UNCONFIRMED);
	failed[BOOT_SLOT_RECOVERY] = true;
	boot_state_fallback(&s, failed, &d); /* the last resort: counted no more */
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_int_equal(d.reason, BOOT_REASON_LAST_RESORT);
	assert_false(d.count_boot);
	assert_false(boot_state_retire_unconfirmed(&s, BOOT_SLOT_ACTIVE));
	assert_true(boot_state_retire_unconfirmed(&s, BOOT_SLOT_RECOVERY));
	/* Unarmed (an older release's mark-good never clears it): the
	 * fall-through to the active boots it, uncounted. */
	s.slots[BOOT_SLOT_ACTIVE].status = SLOT_STATUS_GOOD;
	s.unconfirmed_armed = false;
	failed[BOOT_SLOT_RECOVERY] = false;
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_int_equal(d.reason, BOOT_REASON_CONFIRMED);
	assert_false(d.count_boot);
	assert_false(boot_state_retire_unconfirmed(&s, BOOT_SLOT_RECOVERY));
	/* A new install, a rollback or a reset starts the count over, and
	 * disarms it until the new active's first healthy boot. */
	s.slots[BOOT_SLOT_ACTIVE].status = SLOT_STATUS_GOOD;
	s.unconfirmed = 2;
	s.unconfirmed_armed = true;
	assert_int_equal(boot_state_rollback(&s), 0);
	assert_int_equal(s.unconfirmed, 0);
	assert_false(s.unconfirmed_armed);
	s.unconfirmed = 2;
	s.unconfirmed_armed = true;
	assert_int_equal(boot_state_install_active(&s, R), 0);
	assert_int_equal(s.unconfirmed, 0);
	assert_false(s.unconfirmed_armed);
	s.unconfirmed = 2;
	s.unconfirmed_armed = true;
	assert_int_equal(boot_state_reset(&s, R, false), 0);
	assert_int_equal(s.unconfirmed, 0);
	assert_false(s.unconfirmed_armed);
}

static void test_rollback_and_marks(void **unused)
{
	(void) unused;
	struct boot_state s;
	const struct row start = { .active = NEW, .passive = GOOD, .tries_left = 3, .boot_next = BOOT_SLOT_NONE };
	make_state(&start, &s);

	assert_int_equal(boot_state_rollback(&s), 0);
	assert_string_equal(s.slots[BOOT_SLOT_ACTIVE].image, B);
	assert_int_equal(s.slots[BOOT_SLOT_ACTIVE].status, SLOT_STATUS_GOOD);
	assert_string_equal(s.slots[BOOT_SLOT_PASSIVE].image, A);
	assert_int_equal(s.slots[BOOT_SLOT_PASSIVE].status, SLOT_STATUS_BAD);
	assert_string_equal(s.slots[BOOT_SLOT_PASSIVE].reason, "rolled back before it was confirmed");
	/* Passive is now the failed one: no second rollback onto it. */
	assert_int_equal(boot_state_rollback(&s), -EINVAL);

	assert_int_equal(boot_state_mark_bad(&s, BOOT_SLOT_ACTIVE, "mark-bad by admin"), 0);
	struct boot_decision d;
	boot_state_choose_slot(&s, &d);
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(d.active_skipped, SKIP_BAD);

	s.slots[BOOT_SLOT_PASSIVE].image[0] = '\0';
	assert_int_equal(boot_state_rollback(&s), -ENOENT);
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_PASSIVE), -ENOENT);
	assert_int_equal(boot_state_install_active(&s, "../../etc/passwd"), -EINVAL);
	assert_int_equal(
		boot_state_install_active(&s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		-EINVAL);
}

static void test_slot_names(void **unused)
{
	(void) unused;
	for (int i = 0; i < BOOT_SLOT_COUNT; i++)
		assert_int_equal(boot_slot_from_string(boot_slot_to_string((enum boot_slot) i)), i);
	assert_int_equal(boot_slot_from_string("Active"), BOOT_SLOT_NONE);
	assert_int_equal(boot_slot_from_string(NULL), BOOT_SLOT_NONE);
	assert_true(image_id_is_valid(A));
	assert_false(image_id_is_valid(""));
	assert_false(image_id_is_valid(A "0"));
	const char *digest = "sha256:" A;
	assert_ptr_equal(image_id_from_digest(digest), digest + 7);
	assert_null(image_id_from_digest(A));
	assert_null(image_id_from_digest("sha512:" A));
	assert_null(image_id_from_digest("sha256:" A "0"));
	assert_null(image_id_from_digest("sha256:../../etc/passwd"));
	assert_null(image_id_from_digest(NULL));
}

/* Reset from recovery: active re-created as new, passive emptied, recovery
 * kept; the loop guard's count goes up for automated resets only and is
 * cleared when an active image is confirmed. */
static void test_reset(void **unused)
{
	(void) unused;
	struct boot_state s;
	boot_state_init(&s);
	assert_int_equal(boot_state_install_recovery(&s, R), 0);
	assert_int_equal(boot_state_install_active(&s, B), 0);
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_ACTIVE), 0);
	assert_int_equal(boot_state_install_active(&s, A), 0);
	assert_int_equal(boot_state_mark_bad(&s, BOOT_SLOT_ACTIVE, "did not mount"), 0);
	assert_int_equal(boot_state_mark_bad(&s, BOOT_SLOT_PASSIVE, "x"), 0);
	s.tries_left = 0;
	s.boot_next = BOOT_SLOT_RECOVERY;
	assert_false(boot_state_is_reset_to(&s, R));
	unsigned long gen = s.gen, recovery_gen = s.slots[BOOT_SLOT_RECOVERY].gen;

	assert_int_equal(boot_state_reset(&s, "nope", true), -EINVAL);
	assert_int_equal(boot_state_reset(&s, R, true), 0);
	assert_string_equal(s.slots[BOOT_SLOT_ACTIVE].image, R);
	assert_int_equal(s.slots[BOOT_SLOT_ACTIVE].status, SLOT_STATUS_NEW);
	assert_string_equal(s.slots[BOOT_SLOT_ACTIVE].reason, "");
	assert_int_equal(s.slots[BOOT_SLOT_ACTIVE].gen, gen + 1);
	assert_string_equal(s.slots[BOOT_SLOT_PASSIVE].image, "");
	assert_string_equal(s.slots[BOOT_SLOT_RECOVERY].image, R);
	assert_int_equal(s.slots[BOOT_SLOT_RECOVERY].gen, recovery_gen);
	assert_int_equal(s.tries_left, s.tries_max);
	assert_int_equal(s.boot_next, BOOT_SLOT_NONE);
	assert_int_equal(s.auto_resets, 1);
	assert_true(boot_state_is_reset_to(&s, R));
	assert_false(boot_state_is_reset_to(&s, A));

	struct boot_decision d;
	boot_state_choose_slot(&s, &d);
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_int_equal(d.reason, BOOT_REASON_TRYING);

	/* The healed active fails again: out of tries, it is no longer "reset". */
	s.tries_left = 0;
	assert_false(boot_state_is_reset_to(&s, R));
	boot_state_choose_slot(&s, &d);
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(boot_state_reset(&s, R, true), 0);
	assert_int_equal(s.auto_resets, 2);
	/* Confirming recovery does not clear the count; confirming active does. */
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_RECOVERY), 0);
	assert_int_equal(s.auto_resets, 2);
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_ACTIVE), 0);
	assert_int_equal(s.auto_resets, 0);
	assert_true(boot_state_is_reset_to(&s, R));

	/* A person's reset clears the count. */
	s.auto_resets = 2;
	assert_int_equal(boot_state_reset(&s, R, false), 0);
	assert_int_equal(s.auto_resets, 0);
}

static void test_menu_reason(void **unused)
{
	(void) unused;
	char why[128];
	struct boot_decision d = { .slot = BOOT_SLOT_RECOVERY, .reason = BOOT_REASON_MENU };
	boot_decision_describe(&d, why, sizeof(why));
	assert_string_equal(why, "recovery: chosen in the GRUB menu");
}

/* boot_state_fallback: the rules without the slots that failed this boot,
 * then the last resort, which alternates active and passive (issue 18 #2, #6). */
static void test_fallback(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_decision d;
	boot_state_init(&s);
	assert_int_equal(boot_state_install_recovery(&s, R), 0);
	assert_int_equal(boot_state_install_active(&s, B), 0);
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_ACTIVE), 0);
	assert_int_equal(boot_state_install_active(&s, A), 0);
	assert_int_equal(boot_state_mark_good(&s, BOOT_SLOT_ACTIVE), 0);
	/* A one-shot choice of passive did not load: the good active, as
	 * kairos-boot always did and grub.cfg now does too. */
	bool failed[BOOT_SLOT_COUNT] = { [BOOT_SLOT_PASSIVE] = true };
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_false(d.spend_try || d.alternate);
	/* A new active: it spends a try. */
	s.slots[BOOT_SLOT_ACTIVE].status = SLOT_STATUS_NEW;
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_true(d.spend_try);
	assert_int_equal(d.tries_left, 2);
	/* Active failed too: passive is good, then recovery. */
	failed[BOOT_SLOT_PASSIVE] = false;
	failed[BOOT_SLOT_ACTIVE] = true;
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_PASSIVE);
	failed[BOOT_SLOT_PASSIVE] = true;
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(d.reason, BOOT_REASON_FALLBACK);

	/* Recovery damaged, active out of tries, passive bad: not "nothing
	 * bootable" but the last resort, active first, passive next boot. */
	memset(failed, 0, sizeof(failed));
	failed[BOOT_SLOT_RECOVERY] = true;
	s.tries_left = 0;
	s.slots[BOOT_SLOT_PASSIVE].status = SLOT_STATUS_BAD;
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_int_equal(d.reason, BOOT_REASON_LAST_RESORT);
	assert_false(d.spend_try);
	assert_true(boot_state_apply(&s, &d));
	assert_int_equal(s.boot_next, BOOT_SLOT_PASSIVE);
	char why[128];
	boot_decision_describe(&d, why, sizeof(why));
	assert_non_null(strstr(why, "active: LAST RESORT"));
	failed[BOOT_SLOT_ACTIVE] = true;
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_PASSIVE);
	assert_int_equal(d.reason, BOOT_REASON_LAST_RESORT);
	failed[BOOT_SLOT_PASSIVE] = true;
	boot_state_fallback(&s, failed, &d);
	assert_int_equal(d.slot, BOOT_SLOT_NONE);
}

int main(void)
{
	/* One test per row of the table, named by the row. */
	struct CMUnitTest transitions[ELEMENTSOF(rows)];
	for (size_t i = 0; i < ELEMENTSOF(rows); i++)
		transitions[i] = (struct CMUnitTest){
			.name = rows[i].name,
			.test_func = test_transition,
			.initial_state = (void *) &rows[i],
		};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_sequences),
		cmocka_unit_test(test_fallback_counts_confirmed),
		cmocka_unit_test(test_rollback_and_marks),
		cmocka_unit_test(test_slot_names),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_menu_reason),
		cmocka_unit_test(test_fallback),
	};
	int failed = _cmocka_run_group_tests("transitions", transitions, ELEMENTSOF(transitions), NULL, NULL);
	return failed + cmocka_run_group_tests(tests, NULL, NULL);
}
