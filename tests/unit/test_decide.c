/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "log.h"
#include "util.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_R "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static void setup_state(struct boot_state *s, enum slot_status active, unsigned tries_left)
{
	boot_state_init(s);
	assert_int_equal(boot_state_install_recovery(s, ID_R), 0);
	assert_int_equal(boot_state_install_active(s, ID_B), 0);
	assert_int_equal(boot_state_mark_good(s, BOOT_SLOT_ACTIVE), 0);
	assert_int_equal(boot_state_install_active(s, ID_A), 0);
	s->slots[BOOT_SLOT_ACTIVE].status = active;
	s->tries_left = tries_left;
}

static void options(struct boot_options *o, const char *slot, bool counted)
{
	boot_options_init(o);
	o->grub_slot = slot ? boot_slot_from_string(slot) : BOOT_SLOT_NONE;
	o->counted = counted;
}

static void test_helper_decides(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_options o;
	struct boot_decision d;
	char why[256];
	setup_state(&s, SLOT_STATUS_NEW, 3);
	options(&o, NULL, false);
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_true(d.spend_try);
	assert_string_equal(why, "active: not yet confirmed, 2 tries left after this boot");
}

static void test_grub_counted_same_slot(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_options o;
	struct boot_decision d;
	char why[256];
	/* GRUB went 3 -> 2 and booted active; we read 2 and spend nothing. */
	setup_state(&s, SLOT_STATUS_NEW, 2);
	options(&o, "active", true);
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_int_equal(d.reason, BOOT_REASON_TRYING);
	assert_false(d.spend_try);
	assert_false(d.clear_boot_next);
	assert_int_equal(d.tries_left, 2);
	assert_string_equal(why, "active: not yet confirmed, 2 tries left after this boot");
}

/* Issue 17: the boots of a confirmed active are counted once, by GRUB or,
 * when GRUB did not or could not, by kairos-boot. */
static void test_confirmed_active_counted_once(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_options o;
	struct boot_decision d;
	char why[256];
	setup_state(&s, SLOT_STATUS_GOOD, 3);
	/* not armed (no key for this generation: an older release's
	 * mark-good never clears it): neither counted nor passed over */
	s.unconfirmed = 2;
	options(&o, NULL, false);
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_false(d.count_boot);
	assert_false(boot_state_apply(&s, &d));
	options(&o, "active", false);
	o.via = BOOT_VIA_RULES;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_false(d.count_boot);
	/* armed: a direct boot, kairos-boot counts it */
	s.unconfirmed = 0;
	s.unconfirmed_armed = true;
	options(&o, NULL, false);
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_true(d.count_boot);
	/* GRUB counted 1 -> 2 and booted it: its choice stands, not counted again */
	s.unconfirmed = 2;
	options(&o, "active", true);
	o.via = BOOT_VIA_RULES;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_int_equal(d.reason, BOOT_REASON_CONFIRMED);
	assert_false(d.count_boot);
	assert_false(boot_state_apply(&s, &d));
	/* GRUB passed over it for its count: a fallback, as the rules say */
	options(&o, "passive", true);
	o.via = BOOT_VIA_FALLBACK;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_PASSIVE);
	assert_string_equal(why, "fallback to passive: " BOOT_UNCONFIRMED_REASON);
	/* GRUB could not write counter.env (no kairos.counted=1) and booted it
	 * uncounted, a one-shot choice it could not clear pending: counted here */
	s.unconfirmed = 1;
	s.boot_next = BOOT_SLOT_RECOVERY;
	options(&o, "active", false);
	o.via = BOOT_VIA_FALLBACK;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_true(d.count_boot);
	assert_true(d.clear_boot_next);
	assert_true(boot_state_apply(&s, &d));
	assert_int_equal(s.unconfirmed, 2);
	assert_int_equal(s.boot_next, BOOT_SLOT_NONE);
}

static void test_grub_spent_the_last_try(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_options o;
	struct boot_decision d;
	char why[256];
	/* By our rules active now has no tries: GRUB's choice still stands. */
	setup_state(&s, SLOT_STATUS_NEW, 0);
	options(&o, "active", true);
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_int_equal(d.reason, BOOT_REASON_TRYING);
	assert_int_equal(d.tries_left, 0);
	assert_false(d.spend_try);
}

static void test_grub_chose_another_slot(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_options o;
	struct boot_decision d;
	char why[256];
	setup_state(&s, SLOT_STATUS_GOOD, 3);
	options(&o, "passive", true);
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_PASSIVE);
	assert_false(d.spend_try);
	assert_string_equal(why, "passive: chosen by GRUB (a one-shot choice, or a slot before it did not load)");

	options(&o, "recovery", true);
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);

	/* Passive as GRUB's fallback matches our own rules: our words. */
	s.slots[BOOT_SLOT_ACTIVE].status = SLOT_STATUS_BAD;
	options(&o, "passive", true);
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_PASSIVE);
	assert_string_equal(why, "fallback to passive: active is marked bad");
}

static void test_not_counted_ignores_grub_slot(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_options o;
	struct boot_decision d;
	char why[256];
	setup_state(&s, SLOT_STATUS_GOOD, 3);
	s.boot_next = BOOT_SLOT_PASSIVE;
	/* GRUB could not write the counter: it dropped the one-shot choice
	 * (clearing it needs a write) and booted active's kernel. Its root
	 * goes with it; the one-shot choice is cleared here. */
	options(&o, "active", false);
	o.via = BOOT_VIA_FALLBACK;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_true(d.clear_boot_next);
	assert_false(d.spend_try);

	/* An uncounted new active (a grub.cfg before issue 18): the rules
	 * choose it too, and the try is spent here. */
	setup_state(&s, SLOT_STATUS_NEW, 3);
	options(&o, "active", false);
	o.via = BOOT_VIA_RULES;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_true(d.spend_try);

	/* GRUB's last resort, uncounted: followed, and the alternation that
	 * GRUB could not write is written here. */
	setup_state(&s, SLOT_STATUS_NEW, 0);
	s.slots[BOOT_SLOT_PASSIVE].status = SLOT_STATUS_BAD;
	options(&o, "active", false);
	o.via = BOOT_VIA_LAST_RESORT;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_ACTIVE);
	assert_int_equal(d.reason, BOOT_REASON_LAST_RESORT);
	assert_true(d.alternate);
	assert_false(d.spend_try);
}

/* kairos.via: a person's pick or a one-shot choice is never a fallback,
 * whatever the rules would choose now; GRUB's fall-through is. */
static void test_grub_says_how(void **unused)
{
	(void) unused;
	struct boot_state s;
	struct boot_options o;
	struct boot_decision d;
	char why[256];
	setup_state(&s, SLOT_STATUS_BAD, 3);
	s.slots[BOOT_SLOT_PASSIVE].status = SLOT_STATUS_BAD;

	options(&o, "recovery", true);
	o.via = BOOT_VIA_MENU;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(d.reason, BOOT_REASON_MENU);
	assert_false(d.spend_try || d.clear_boot_next);
	assert_string_equal(why, "recovery: chosen in the GRUB menu");

	o.via = BOOT_VIA_ONE_SHOT;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.reason, BOOT_REASON_ONE_SHOT);

	o.via = BOOT_VIA_FALLBACK; /* the rules agree: their words */
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.reason, BOOT_REASON_FALLBACK);
	assert_string_equal(why, "fallback to recovery: active is marked bad, passive is marked bad");

	/* Active is fine by the rules, but its image did not load in GRUB. */
	setup_state(&s, SLOT_STATUS_GOOD, 3);
	s.slots[BOOT_SLOT_PASSIVE].status = SLOT_STATUS_BAD;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(d.reason, BOOT_REASON_FALLBACK);
	assert_string_equal(why, "fallback to recovery: chosen by GRUB (the slot before it did not load)");

	/* Not counted, a slot that needs no write: its kernel runs, its root
	 * goes with it (never a root from another image, issue 18 #5). */
	options(&o, "recovery", false);
	o.via = BOOT_VIA_MENU;
	boot_decide(&s, &o, &d, why, sizeof(why));
	assert_int_equal(d.slot, BOOT_SLOT_RECOVERY);
	assert_int_equal(d.reason, BOOT_REASON_MENU);
}

static void test_via_parsed(void **unused)
{
	(void) unused;
	const char *words[] = { "rules", "one-shot", "fallback", "menu", "last-resort" };
	const enum boot_via want[] = { BOOT_VIA_RULES, BOOT_VIA_ONE_SHOT, BOOT_VIA_FALLBACK, BOOT_VIA_MENU,
				       BOOT_VIA_LAST_RESORT };
	for (size_t i = 0; i < ELEMENTSOF(words); i++) {
		char text[64];
		struct cmdline c;
		struct boot_options o;
		snprintf(text, sizeof(text), "root=kairos kairos.via=%s", words[i]);
		assert_int_equal(cmdline_parse(text, &c), 0);
		boot_options_init(&o);
		assert_int_equal(boot_options_from_cmdline(&o, &c), 0);
		assert_int_equal(o.via, want[i]);
		cmdline_free(&c);
	}
	struct cmdline c;
	struct boot_options o;
	assert_int_equal(cmdline_parse("kairos.via=sideways", &c), 0);
	boot_options_init(&o);
	assert_int_equal(boot_options_from_cmdline(&o, &c), -EINVAL);
	assert_int_equal(o.via, BOOT_VIA_UNKNOWN);
	cmdline_free(&c);
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helper_decides),          cmocka_unit_test(test_grub_counted_same_slot),
		cmocka_unit_test(test_grub_spent_the_last_try), cmocka_unit_test(test_confirmed_active_counted_once),
		cmocka_unit_test(test_grub_chose_another_slot), cmocka_unit_test(test_not_counted_ignores_grub_slot),
		cmocka_unit_test(test_grub_says_how),           cmocka_unit_test(test_via_parsed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
