/* SPDX-License-Identifier: Apache-2.0 */
#include "decide.h"

#include <stdbool.h>
#include <stdio.h>

void boot_decide(const struct boot_state *s, const struct boot_options *o, struct boot_decision *d, char *why,
		 size_t size)
{
	boot_state_choose_slot(s, d);
	boot_decision_describe(d, why, size);
	if (!o->counted && o->grub_slot != BOOT_SLOT_NONE && d->slot != o->grub_slot) {
		/* GRUB could not write the counter, so it booted what needs no
		 * write (grub.cfg, kairos_commit): a confirmed active, a good
		 * passive or recovery. Its kernel runs: use its root, and clear
		 * a one-shot choice GRUB could not. */
		struct boot_decision rules;
		bool failed[BOOT_SLOT_COUNT] = { 0 };
		struct boot_state dropped = *s;
		dropped.boot_next = BOOT_SLOT_NONE;
		dropped.tries_left = 0;
		boot_state_fallback(&dropped, failed, &rules);
		if (rules.slot == o->grub_slot || o->via == BOOT_VIA_MENU || o->via == BOOT_VIA_FALLBACK ||
		    o->via == BOOT_VIA_LAST_RESORT) {
			*d = rules;
			d->slot = o->grub_slot;
			d->reason = o->via == BOOT_VIA_MENU          ? BOOT_REASON_MENU
				    : o->via == BOOT_VIA_LAST_RESORT ? BOOT_REASON_LAST_RESORT
				    : rules.slot == o->grub_slot     ? rules.reason
								     : BOOT_REASON_FALLBACK;
			d->spend_try = false;
			/* A confirmed active GRUB could not count is counted here. */
			d->count_boot = rules.count_boot && d->slot == BOOT_SLOT_ACTIVE;
			d->tries_left = s->tries_left;
			d->clear_boot_next = s->boot_next != BOOT_SLOT_NONE;
			/* GRUB could not write the last resort's alternation: we can. */
			d->alternate = o->via == BOOT_VIA_LAST_RESORT;
			boot_decision_describe(d, why, size);
		}
		return;
	}
	if (!o->counted)
		return;

	enum boot_slot grub = o->grub_slot;
	/* GRUB says how it came to this slot: a person's pick or a one-shot
	 * choice is not a fallback, whatever the rules would choose now (GRUB
	 * has cleared the one-shot choice already). Automated recovery acts on
	 * fallbacks only. */
	if (o->via == BOOT_VIA_MENU || o->via == BOOT_VIA_ONE_SHOT || o->via == BOOT_VIA_LAST_RESORT) {
		*d = (struct boot_decision){ .slot = grub,
					     .reason = o->via == BOOT_VIA_MENU       ? BOOT_REASON_MENU
						       : o->via == BOOT_VIA_ONE_SHOT ? BOOT_REASON_ONE_SHOT
										     : BOOT_REASON_LAST_RESORT,
					     .tries_left = s->tries_left };
		boot_decision_describe(d, why, size);
		return;
	}
	if (o->via == BOOT_VIA_FALLBACK && d->slot != grub && grub != BOOT_SLOT_ACTIVE) {
		*d = (struct boot_decision){ .slot = grub, .reason = BOOT_REASON_FALLBACK };
		snprintf(why, size, "fallback to %s: chosen by GRUB (the slot before it did not load)",
			 boot_slot_to_string(grub));
		return;
	}
	if (d->slot != grub) {
		if (grub == BOOT_SLOT_ACTIVE) {
			/* e.g. GRUB spent the last try: we now see none left. */
			bool good = s->slots[grub].status == SLOT_STATUS_GOOD;
			*d = (struct boot_decision){ .slot = grub,
						     .reason = good ? BOOT_REASON_CONFIRMED : BOOT_REASON_TRYING,
						     .tries_left = s->tries_left };
			boot_decision_describe(d, why, size);
		} else {
			/* A one-shot choice GRUB has cleared since, or GRUB could not
			 * load the slot it chose and fell through to this one. */
			*d = (struct boot_decision){ .slot = grub, .reason = BOOT_REASON_FALLBACK };
			snprintf(why, size, "%s: chosen by GRUB (a one-shot choice, or a slot before it did not load)",
				 boot_slot_to_string(grub));
		}
	} else if (d->spend_try) {
		d->tries_left = s->tries_left; /* already spent by GRUB */
		boot_decision_describe(d, why, size);
	}
	d->spend_try = d->clear_boot_next = d->count_boot = false;
}
