/* SPDX-License-Identifier: Apache-2.0 */
#include "boot_state.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grubenv.h"
#include "log.h"
#include "durable.h"
#include "util.h"

static const char *const slot_names[BOOT_SLOT_COUNT] = { "active", "passive", "recovery" };
static const char *const status_names[] = {
	[SLOT_STATUS_NEW] = "new",
	[SLOT_STATUS_GOOD] = "good",
	[SLOT_STATUS_BAD] = "bad",
};

const char *boot_slot_to_string(enum boot_slot slot)
{
	return slot >= 0 && slot < BOOT_SLOT_COUNT ? slot_names[slot] : "none";
}

enum boot_slot boot_slot_from_string(const char *s)
{
	for (int i = 0; i < BOOT_SLOT_COUNT; i++)
		if (s && streq(s, slot_names[i]))
			return (enum boot_slot) i;
	return BOOT_SLOT_NONE;
}

const char *slot_status_to_string(enum slot_status status)
{
	return status_names[status];
}

const char *slot_skip_cause_to_string(enum slot_skip_cause cause)
{
	switch (cause) {
	case SKIP_EMPTY:
		return "has no image";
	case SKIP_BAD:
		return "is marked bad";
	case SKIP_TRIES_EXHAUSTED:
		return "has no tries left";
	case SKIP_NOT_CONFIRMED:
		return "is not confirmed good";
	case SKIP_UNCONFIRMED:
		return "did not come up twice in a row"; /* "confirmed " before "active": BOOT_UNCONFIRMED_REASON */
	case SKIP_NONE:
		break;
	}
	return "is usable";
}

bool image_id_is_valid(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == IMAGE_ID_LEN;
}

const char *image_id_from_digest(const char *digest)
{
	static const char prefix[] = "sha256:";
	if (!digest || strncmp(digest, prefix, strlen(prefix)) != 0 || !image_id_is_valid(digest + strlen(prefix)))
		return NULL;
	return digest + strlen(prefix);
}

void boot_state_init(struct boot_state *s)
{
	*s = (struct boot_state){
		.tries_max = BOOT_TRIES_DEFAULT,
		.tries_left = BOOT_TRIES_DEFAULT,
		.boot_next = BOOT_SLOT_NONE,
	};
}

static bool has_image(const struct slot_state *slot)
{
	return slot->image[0] != '\0';
}

static enum slot_skip_cause active_skip_cause(const struct boot_state *s)
{
	const struct slot_state *a = &s->slots[BOOT_SLOT_ACTIVE];
	if (!has_image(a))
		return SKIP_EMPTY;
	if (a->status == SLOT_STATUS_BAD)
		return SKIP_BAD;
	if (a->status == SLOT_STATUS_NEW && s->tries_left == 0)
		return SKIP_TRIES_EXHAUSTED;
	if (a->status == SLOT_STATUS_GOOD && s->unconfirmed_armed && s->unconfirmed >= BOOT_UNCONFIRMED_MAX)
		return SKIP_UNCONFIRMED;
	return SKIP_NONE;
}

static enum slot_skip_cause passive_skip_cause(const struct boot_state *s)
{
	const struct slot_state *p = &s->slots[BOOT_SLOT_PASSIVE];
	if (!has_image(p))
		return SKIP_EMPTY;
	if (p->status == SLOT_STATUS_BAD)
		return SKIP_BAD;
	if (p->status != SLOT_STATUS_GOOD)
		return SKIP_NOT_CONFIRMED;
	return SKIP_NONE;
}

void boot_state_choose_slot(const struct boot_state *s, struct boot_decision *d)
{
	*d = (struct boot_decision){ .slot = BOOT_SLOT_NONE, .tries_left = s->tries_left };

	if (s->boot_next != BOOT_SLOT_NONE) {
		d->clear_boot_next = true;
		/* A one-shot choice of an empty slot (other than recovery, which
		 * always boots) is dropped and the normal rules apply. */
		if (s->boot_next == BOOT_SLOT_RECOVERY || has_image(&s->slots[s->boot_next])) {
			d->slot = s->boot_next;
			d->reason = BOOT_REASON_ONE_SHOT;
			return;
		}
	}

	d->active_skipped = active_skip_cause(s);
	if (d->active_skipped == SKIP_NONE) {
		d->slot = BOOT_SLOT_ACTIVE;
		if (s->slots[BOOT_SLOT_ACTIVE].status == SLOT_STATUS_GOOD) {
			d->reason = BOOT_REASON_CONFIRMED;
			d->count_boot = s->unconfirmed_armed;
		} else {
			d->reason = BOOT_REASON_TRYING;
			d->spend_try = true;
			d->tries_left = s->tries_left - 1;
		}
		return;
	}

	d->reason = BOOT_REASON_FALLBACK;
	d->passive_skipped = passive_skip_cause(s);
	d->slot = d->passive_skipped == SKIP_NONE ? BOOT_SLOT_PASSIVE : BOOT_SLOT_RECOVERY;
}

void boot_state_fallback(const struct boot_state *s, const bool failed[BOOT_SLOT_COUNT], struct boot_decision *d)
{
	*d = (struct boot_decision){ .slot = BOOT_SLOT_NONE,
				     .reason = BOOT_REASON_FALLBACK,
				     .tries_left = s->tries_left };
	d->active_skipped = failed[BOOT_SLOT_ACTIVE] ? SKIP_BAD : active_skip_cause(s);
	d->passive_skipped = failed[BOOT_SLOT_PASSIVE] ? SKIP_BAD : passive_skip_cause(s);
	if (d->active_skipped == SKIP_NONE) {
		d->slot = BOOT_SLOT_ACTIVE;
		d->reason = BOOT_REASON_CONFIRMED;
		d->count_boot = s->slots[BOOT_SLOT_ACTIVE].status == SLOT_STATUS_GOOD && s->unconfirmed_armed;
		if (s->slots[BOOT_SLOT_ACTIVE].status == SLOT_STATUS_NEW) {
			d->reason = BOOT_REASON_TRYING;
			d->spend_try = true;
			d->tries_left = s->tries_left - 1;
		}
		return;
	}
	if (d->passive_skipped == SKIP_NONE) {
		d->slot = BOOT_SLOT_PASSIVE;
		return;
	}
	if (!failed[BOOT_SLOT_RECOVERY]) {
		d->slot = BOOT_SLOT_RECOVERY;
		return;
	}
	/* A good image that did not fail was taken above: what is left is
	 * bad or out of tries. Active first: the newest install. */
	d->reason = BOOT_REASON_LAST_RESORT;
	if (!failed[BOOT_SLOT_ACTIVE] && has_image(&s->slots[BOOT_SLOT_ACTIVE]))
		d->slot = BOOT_SLOT_ACTIVE;
	else if (!failed[BOOT_SLOT_PASSIVE] && has_image(&s->slots[BOOT_SLOT_PASSIVE]))
		d->slot = BOOT_SLOT_PASSIVE;
	/* If this one's kernel panics, nobody gets to count: the next boot
	 * takes the other one (its one-shot choice), then this one again. */
	d->alternate = d->slot != BOOT_SLOT_NONE;
}

bool boot_state_apply(struct boot_state *s, const struct boot_decision *d)
{
	bool changed = false;
	if (d->clear_boot_next) {
		s->boot_next = BOOT_SLOT_NONE;
		changed = true;
	}
	if (d->spend_try && s->tries_left > 0) {
		s->tries_left--;
		changed = true;
	}
	if (d->count_boot && s->unconfirmed < BOOT_UNCONFIRMED_MAX) {
		s->unconfirmed++;
		changed = true;
	}
	enum boot_slot other = d->slot == BOOT_SLOT_ACTIVE ? BOOT_SLOT_PASSIVE : BOOT_SLOT_ACTIVE;
	if (d->alternate && has_image(&s->slots[other])) {
		s->boot_next = other;
		changed = true;
	}
	return changed;
}

bool boot_state_retire_unconfirmed(struct boot_state *s, enum boot_slot booted)
{
	struct slot_state *a = &s->slots[BOOT_SLOT_ACTIVE];
	if (booted == BOOT_SLOT_ACTIVE || !has_image(a) || a->status != SLOT_STATUS_GOOD || !s->unconfirmed_armed ||
	    s->unconfirmed < BOOT_UNCONFIRMED_MAX)
		return false;
	return boot_state_mark_bad(s, BOOT_SLOT_ACTIVE, BOOT_UNCONFIRMED_REASON) == 0;
}

void boot_decision_describe(const struct boot_decision *d, char *buf, size_t size)
{
	const char *slot = boot_slot_to_string(d->slot);
	const char *confirmed = d->active_skipped == SKIP_UNCONFIRMED ? "confirmed " : "";
	switch (d->reason) {
	case BOOT_REASON_CONFIRMED:
		snprintf(buf, size, "%s: confirmed good", slot);
		break;
	case BOOT_REASON_TRYING:
		snprintf(buf, size, "%s: not yet confirmed, %u tr%s left after this boot", slot, d->tries_left,
			 d->tries_left == 1 ? "y" : "ies");
		break;
	case BOOT_REASON_ONE_SHOT:
		snprintf(buf, size, "%s: one-shot choice", slot);
		break;
	case BOOT_REASON_MENU:
		snprintf(buf, size, "%s: chosen in the GRUB menu", slot);
		break;
	case BOOT_REASON_LAST_RESORT:
		if (d->slot == BOOT_SLOT_NONE)
			snprintf(buf, size, "none: every image failed, nothing left to boot");
		else
			snprintf(buf, size,
				 "%s: LAST RESORT, every slot the rules allow failed (the other one next boot)", slot);
		break;
	case BOOT_REASON_FALLBACK:
		if (d->slot == BOOT_SLOT_PASSIVE)
			snprintf(buf, size, "fallback to passive: %sactive %s", confirmed,
				 slot_skip_cause_to_string(d->active_skipped));
		else
			snprintf(buf, size, "fallback to recovery: %sactive %s, passive %s", confirmed,
				 slot_skip_cause_to_string(d->active_skipped),
				 slot_skip_cause_to_string(d->passive_skipped));
		break;
	}
}

static bool slot_is_valid(enum boot_slot slot)
{
	return slot >= 0 && slot < BOOT_SLOT_COUNT;
}

int boot_state_install_active(struct boot_state *s, const char *image_id)
{
	if (!image_id_is_valid(image_id))
		return -EINVAL;
	/* Re-installing the active image (upgrade --force) must not push the
	 * only other image out of passive. */
	if (!streq(s->slots[BOOT_SLOT_ACTIVE].image, image_id))
		s->slots[BOOT_SLOT_PASSIVE] = s->slots[BOOT_SLOT_ACTIVE];
	struct slot_state *a = &s->slots[BOOT_SLOT_ACTIVE];
	*a = (struct slot_state){ .status = SLOT_STATUS_NEW, .gen = ++s->gen };
	memcpy(a->image, image_id, IMAGE_ID_LEN + 1);
	/* The counter now counts for an older generation: fresh tries. */
	s->tries_left = s->tries_max;
	s->unconfirmed = 0;
	s->unconfirmed_armed = false; /* until its first healthy boot's mark-good */
	return 0;
}

int boot_state_install_recovery(struct boot_state *s, const char *image_id)
{
	if (!image_id_is_valid(image_id))
		return -EINVAL;
	struct slot_state *r = &s->slots[BOOT_SLOT_RECOVERY];
	*r = (struct slot_state){ .status = SLOT_STATUS_GOOD, .gen = ++s->gen };
	memcpy(r->image, image_id, IMAGE_ID_LEN + 1);
	return 0;
}

int boot_state_set_verity(struct boot_state *s, enum boot_slot slot, const struct verity_record *rec)
{
	if (!slot_is_valid(slot))
		return -EINVAL;
	struct slot_state *st = &s->slots[slot];
	if (!has_image(st))
		return -ENOENT;
	if (!rec || rec->data_blocks == 0) {
		st->verity = (struct slot_verity){ .state = SLOT_VERITY_NONE };
		return 0;
	}
	if (rec->data_blocks > SLOT_VERITY_BLOCKS_MAX || rec->hash_offset % VERITY_BLOCK_SIZE != 0 ||
	    rec->hash_offset / VERITY_BLOCK_SIZE < rec->data_blocks ||
	    rec->hash_offset / VERITY_BLOCK_SIZE > SLOT_VERITY_BLOCKS_MAX ||
	    rec->hash_start_block != verity_hash_start_block(rec->hash_offset))
		return -EINVAL;
	st->verity = (struct slot_verity){ .data_blocks = rec->data_blocks,
					   .hash_start_block = rec->hash_start_block,
					   .state = SLOT_VERITY_SET };
	memcpy(st->verity.root_hash, rec->root_hash, sizeof(st->verity.root_hash));
	return 0;
}

void slot_verity_format(const struct slot_verity *v, char *buf, size_t size)
{
	char root[2 * VERITY_DIGEST_SIZE + 1];
	verity_hex(v->root_hash, sizeof(v->root_hash), root);
	snprintf(buf, size, "%s:%" PRIu64 ":%" PRIu64, root, v->data_blocks, v->hash_start_block);
}

int boot_state_mark_good(struct boot_state *s, enum boot_slot slot)
{
	if (!slot_is_valid(slot))
		return -EINVAL;
	struct slot_state *st = &s->slots[slot];
	if (!has_image(st))
		return -ENOENT;
	st->status = SLOT_STATUS_GOOD;
	st->reason[0] = '\0';
	if (slot == BOOT_SLOT_ACTIVE)
		s->auto_resets = 0; /* a healed node: the loop guard starts over */
	return 0;
}

int boot_state_mark_bad(struct boot_state *s, enum boot_slot slot, const char *reason)
{
	if (!slot_is_valid(slot))
		return -EINVAL;
	struct slot_state *st = &s->slots[slot];
	if (!has_image(st))
		return -ENOENT;
	st->status = SLOT_STATUS_BAD;
	snprintf(st->reason, sizeof(st->reason), "%s", reason ? reason : "");
	return 0;
}

int boot_state_rollback(struct boot_state *s)
{
	struct slot_state *a = &s->slots[BOOT_SLOT_ACTIVE], *p = &s->slots[BOOT_SLOT_PASSIVE];
	if (!has_image(p))
		return -ENOENT;
	if (p->status != SLOT_STATUS_GOOD)
		return -EINVAL;
	struct slot_state old_active = *a;
	*a = *p;
	*p = old_active;
	/* The count was the other image's (and is stale in the file: another
	 * generation); this one is unarmed until a mark-good that knows it. */
	s->unconfirmed = 0;
	s->unconfirmed_armed = false;
	/* An image rolled back before it was confirmed has failed, or was never
	 * wanted: say so, rather than leave it looking like a fresh upgrade. */
	if (p->status == SLOT_STATUS_NEW) {
		p->status = SLOT_STATUS_BAD;
		snprintf(p->reason, sizeof(p->reason), "rolled back before it was confirmed");
	}
	return 0;
}

int boot_state_reset(struct boot_state *s, const char *image_id, bool automated)
{
	if (!image_id_is_valid(image_id))
		return -EINVAL;
	struct slot_state *a = &s->slots[BOOT_SLOT_ACTIVE];
	*a = (struct slot_state){ .status = SLOT_STATUS_NEW, .gen = ++s->gen };
	memcpy(a->image, image_id, IMAGE_ID_LEN + 1);
	s->slots[BOOT_SLOT_PASSIVE] = (struct slot_state){ 0 };
	s->tries_left = s->tries_max; /* the counter counts for an older generation now */
	s->unconfirmed = 0;
	s->unconfirmed_armed = false;
	s->boot_next = BOOT_SLOT_NONE;
	s->auto_resets = automated ? s->auto_resets + 1 : 0;
	return 0;
}

bool boot_state_is_reset_to(const struct boot_state *s, const char *image_id)
{
	const struct slot_state *a = &s->slots[BOOT_SLOT_ACTIVE];
	return streq(a->image, image_id) && !has_image(&s->slots[BOOT_SLOT_PASSIVE]) &&
	       (a->status == SLOT_STATUS_GOOD || (a->status == SLOT_STATUS_NEW && s->tries_left > 0));
}

/* ---- files ---- */

/* A number as grub.cfg's regexps accept it: decimal digits only (no blank,
 * sign or leading zero: GRUB compares generations as strings), at most 19
 * of them. GRUB must accept exactly the same values (issue 13 #7). */
static int parse_ulong(const char *text, unsigned long max, unsigned long *out)
{
	size_t n = text ? strspn(text, "0123456789") : 0;
	if (n == 0 || text[n] != '\0' || n > 19 || (text[0] == '0' && n > 1))
		return -EBADMSG;
	unsigned long v = strtoul(text, NULL, 10);
	if (v > max)
		return -EBADMSG;
	*out = v;
	return 0;
}

/* The root hash as image ids are written: lowercase only, one spelling. */
static bool is_lower_hex(const char *text, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
			return false;
	return true;
}

int slot_verity_parse(const char *text, struct slot_verity *ret, const char **why)
{
	char buf[SLOT_VERITY_TEXT_MAX + 1];
	unsigned long data_blocks, hash_start;
	*ret = (struct slot_verity){ .state = SLOT_VERITY_DAMAGED };
	*why = NULL;
	if (!text || strnlen(text, sizeof(buf)) >= sizeof(buf))
		*why = "longer than a record";
	else if (strlen(text) < 2 * VERITY_DIGEST_SIZE + 1 || text[2 * VERITY_DIGEST_SIZE] != ':' ||
		 !is_lower_hex(text, 2 * VERITY_DIGEST_SIZE))
		*why = "not a root hash (64 lowercase hex digits) and ':'";
	if (*why)
		return -EBADMSG;
	memcpy(buf, text, strlen(text) + 1);
	char *blocks = buf + 2 * VERITY_DIGEST_SIZE + 1, *start = strchr(blocks, ':');
	if (start)
		*start++ = '\0';
	if (!start || parse_ulong(blocks, SLOT_VERITY_BLOCKS_MAX, &data_blocks) < 0 || data_blocks == 0)
		*why = "data blocks are not a number of 1..2^40";
	else if (parse_ulong(start, SLOT_VERITY_BLOCKS_MAX + 1, &hash_start) < 0 || hash_start <= data_blocks)
		*why = "hash start block is not a number after the data blocks, at most 2^40 + 1";
	if (*why)
		return -EBADMSG;
	buf[2 * VERITY_DIGEST_SIZE] = '\0';
	(void) verity_unhex(buf, ret->root_hash, sizeof(ret->root_hash)); /* checked above */
	ret->data_blocks = data_blocks;
	ret->hash_start_block = hash_start;
	ret->state = SLOT_VERITY_SET;
	return 0;
}

/* An empty value is an absent one, as in grub.cfg ([ -n ... ] before the check). */
static const char *get_value(const struct grubenv *env, const char *key)
{
	const char *v = grubenv_get(env, key);
	return v && *v ? v : NULL;
}

static int key_name(char *buf, size_t size, enum boot_slot slot, const char *suffix)
{
	int n = snprintf(buf, size, "kairos_%s%s", slot_names[slot], suffix);
	return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static int load_slot(const char *path, const struct grubenv *env, enum boot_slot slot, struct slot_state *st)
{
	char key[64];
	const char *v;
	key_name(key, sizeof(key), slot, "");
	v = grubenv_get(env, key);
	if (!v || !*v)
		return 0; /* empty slot */
	if (!image_id_is_valid(v))
		return log_error_errno(-EBADMSG, "%s: %s is not an image id (64 hex digits)", path, key);
	memcpy(st->image, v, IMAGE_ID_LEN + 1);

	key_name(key, sizeof(key), slot, "_status");
	v = grubenv_get(env, key);
	if (v && streq(v, "good"))
		st->status = SLOT_STATUS_GOOD;
	else if (v && streq(v, "new"))
		st->status = SLOT_STATUS_NEW;
	else if (v && streq(v, "bad"))
		st->status = SLOT_STATUS_BAD;
	else
		return log_error_errno(-EBADMSG, "%s: %s must be good, new or bad", path, key);

	key_name(key, sizeof(key), slot, "_gen");
	if (parse_ulong(get_value(env, key), ULONG_MAX, &st->gen) < 0)
		return log_error_errno(-EBADMSG, "%s: %s is not a number", path, key);

	key_name(key, sizeof(key), slot, "_reason");
	v = grubenv_get(env, key);
	snprintf(st->reason, sizeof(st->reason), "%s", v ? v : "");

	/* Damaged, the record costs this slot its boot, not the whole map:
	 * a damaged map would send the node to recovery (and a reset). */
	key_name(key, sizeof(key), slot, "_verity");
	v = get_value(env, key);
	const char *why;
	if (v && slot_verity_parse(v, &st->verity, &why) < 0)
		log_error("%s: %s is damaged (%s): the %s slot cannot boot until it is installed again", path, key, why,
			  slot_names[slot]);
	return 0;
}

static int load_slots(const char *path, struct boot_state *s)
{
	struct grubenv env;
	int r = grubenv_read_file(path, &env);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return log_error_errno(r == -ENOMEM ? r : -EBADMSG, "%s is damaged (%s)", path, grubenv_strerror(r));

	unsigned long v;
	const char *text = get_value(&env, "kairos_tries_max");
	if (text) {
		if (parse_ulong(text, BOOT_TRIES_LIMIT, &v) < 0 || v == 0)
			r = log_error_errno(-EBADMSG, "%s: kairos_tries_max must be 1..%d", path, BOOT_TRIES_LIMIT);
		else
			s->tries_max = (unsigned) v;
	}
	text = get_value(&env, "kairos_gen");
	if (r == 0 && text) {
		if (parse_ulong(text, ULONG_MAX, &s->gen) < 0)
			r = log_error_errno(-EBADMSG, "%s: kairos_gen is not a number", path);
	}
	/* GRUB never reads it: a damaged count must not make the whole map
	 * damaged (recovery would then reset the node). Unreadable, the loop
	 * guard holds: no automated reset until a person or a confirmed
	 * active clears it. */
	text = get_value(&env, "kairos_auto_resets");
	if (r == 0 && text) {
		if (parse_ulong(text, RESET_AUTO_MAX, &v) < 0) {
			log_warning(
				"%s: kairos_auto_resets=%s is not a count of 0..%d: taken as %d (no automated reset)",
				path, text, RESET_AUTO_MAX, RESET_AUTO_MAX);
			v = RESET_AUTO_MAX;
		}
		s->auto_resets = (unsigned) v;
	}
	for (int i = 0; r == 0 && i < BOOT_SLOT_COUNT; i++)
		r = load_slot(path, &env, (enum boot_slot) i, &s->slots[i]);
	grubenv_free(&env);
	return r;
}

static int load_counter(const char *path, struct boot_state *s)
{
	struct grubenv env;
	int r = grubenv_read_file(path, &env);
	if (r == -ENOENT)
		return 0; /* never written: nothing counted yet */
	if (r < 0)
		return r;

	unsigned long tries = 0, tries_gen = 0, unconfirmed = 0;
	const char *next = grubenv_get(&env, "kairos_boot_next");
	const char *tries_text = get_value(&env, "kairos_tries");
	const char *gen_text = get_value(&env, "kairos_tries_gen");
	const char *unconfirmed_text = get_value(&env, "kairos_active_unconfirmed");
	/* One digit, as grub.cfg's regexp: GRUB has no arithmetic. */
	if ((tries_text && parse_ulong(tries_text, BOOT_TRIES_LIMIT, &tries) < 0) ||
	    (unconfirmed_text && parse_ulong(unconfirmed_text, 9, &unconfirmed) < 0) ||
	    (gen_text && parse_ulong(gen_text, ULONG_MAX, &tries_gen) < 0) ||
	    (next && *next && boot_slot_from_string(next) == BOOT_SLOT_NONE)) {
		grubenv_free(&env);
		return -EBADMSG;
	}
	if (tries_text && gen_text && tries_gen == s->slots[BOOT_SLOT_ACTIVE].gen)
		s->tries_left = (unsigned) tries;
	/* A count of another generation is another installation's. */
	s->unconfirmed_armed = unconfirmed_text && gen_text && tries_gen == s->slots[BOOT_SLOT_ACTIVE].gen;
	if (s->unconfirmed_armed)
		s->unconfirmed = (unsigned) unconfirmed;
	s->boot_next = next && *next ? boot_slot_from_string(next) : BOOT_SLOT_NONE;
	grubenv_free(&env);
	return 0;
}

static char *path_join(const char *dir, const char *name)
{
	char *p;
	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

int boot_state_load(const char *dir, struct boot_state *s)
{
	_cleanup_free_ char *state_path = path_join(dir, BOOT_STATE_FILE);
	_cleanup_free_ char *counter_path = path_join(dir, BOOT_COUNTER_FILE);
	if (!state_path || !counter_path)
		return -ENOMEM;

	boot_state_init(s);
	int r = load_slots(state_path, s);
	if (r < 0) {
		boot_state_init(s); /* never half a slot map */
		return r;
	}
	s->tries_left = s->tries_max;

	r = load_counter(counter_path, s);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_warning("%s is damaged (%s): using defaults (no one-shot choice, %u tries for a new active)",
			    counter_path, grubenv_strerror(r), s->tries_max);
		s->tries_left = s->tries_max;
		s->unconfirmed = 0;
		s->unconfirmed_armed = false;
		s->boot_next = BOOT_SLOT_NONE;
		s->counter_damaged = true;
	}
	return 0;
}

static int set_ulong(struct grubenv *env, const char *key, unsigned long v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%lu", v);
	return grubenv_set(env, key, buf);
}

static int format_slots(const struct boot_state *s, struct grubenv *env)
{
	int r = set_ulong(env, "kairos_tries_max", s->tries_max);
	if (r == 0)
		r = set_ulong(env, "kairos_gen", s->gen);
	if (r == 0 && s->auto_resets > 0) /* absent means 0: maps written before it stay byte-identical */
		r = set_ulong(env, "kairos_auto_resets", s->auto_resets);
	for (int i = 0; r == 0 && i < BOOT_SLOT_COUNT; i++) {
		const struct slot_state *st = &s->slots[i];
		char key[64];
		key_name(key, sizeof(key), (enum boot_slot) i, "");
		r = grubenv_set(env, key, st->image);
		if (r < 0 || !has_image(st))
			continue;
		key_name(key, sizeof(key), (enum boot_slot) i, "_status");
		r = grubenv_set(env, key, slot_status_to_string(st->status));
		key_name(key, sizeof(key), (enum boot_slot) i, "_gen");
		if (r == 0)
			r = set_ulong(env, key, st->gen);
		key_name(key, sizeof(key), (enum boot_slot) i, "_reason");
		if (r == 0 && st->reason[0])
			r = grubenv_set(env, key, st->reason);
		key_name(key, sizeof(key), (enum boot_slot) i, "_verity");
		if (r == 0 && st->verity.state != SLOT_VERITY_NONE) {
			/* Damaged stays damaged: "-" parses as nothing. */
			char text[SLOT_VERITY_TEXT_MAX + 1] = "-";
			if (st->verity.state == SLOT_VERITY_SET)
				slot_verity_format(&st->verity, text, sizeof(text));
			r = grubenv_set(env, key, text);
		}
	}
	return r;
}

/* state.env must fit GRUB's 1024 bytes: the reasons give way first (three
 * slots' records, numbers at their bounds and 20-digit generations fit
 * without them; docs/DESIGN.md has the numbers). */
static int format_fitting(const struct boot_state *s, struct grubenv *env)
{
	static const size_t caps[] = { SLOT_REASON_MAX, 24, 1 };
	struct boot_state shorter = *s;
	char block[GRUBENV_SIZE];
	int r = -ENOSPC;
	for (size_t c = 0; c < ELEMENTSOF(caps) && r == -ENOSPC; c++) {
		for (int i = 0; i < BOOT_SLOT_COUNT; i++)
			shorter.slots[i].reason[caps[c] - 1] = '\0';
		grubenv_free(env);
		*env = (struct grubenv){ 0 };
		r = format_slots(&shorter, env);
		if (r == 0)
			r = grubenv_format(env, block);
		if (r == 0 && c > 0)
			log_warning("The slots' reasons were cut to %zu characters to fit %s in %d bytes", caps[c] - 1,
				    BOOT_STATE_FILE, GRUBENV_SIZE);
	}
	return r;
}

int boot_state_save(const char *dir, const struct boot_state *s)
{
	_cleanup_free_ char *path = path_join(dir, BOOT_STATE_FILE);
	if (!path)
		return -ENOMEM;
	struct grubenv env = { 0 };
	int r = format_fitting(s, &env);
	if (r == 0)
		r = grubenv_write_file_atomic(path, &env);
	grubenv_free(&env);
	if (r < 0)
		return log_error_errno(r, "Failed to write %s: %m", path);
	/* Committed; now make GRUB see it (and the images it names) too. */
	r = checkpoint_for_bootloader(dir);
	if (r < 0)
		log_warning_errno(r,
				  "Committed, but could not flush the journal of %s for GRUB (%m): "
				  "a power cut in the next seconds may make GRUB boot the previous state",
				  dir);
	return 0;
}

int boot_state_save_counter(const char *dir, const struct boot_state *s)
{
	_cleanup_free_ char *path = path_join(dir, BOOT_COUNTER_FILE);
	if (!path)
		return -ENOMEM;
	struct grubenv env = { 0 };
	int r = set_ulong(&env, "kairos_tries", s->tries_left);
	if (r == 0)
		r = set_ulong(&env, "kairos_tries_gen", s->slots[BOOT_SLOT_ACTIVE].gen);
	if (r == 0)
		r = grubenv_set(&env, "kairos_boot_next",
				s->boot_next == BOOT_SLOT_NONE ? "" : boot_slot_to_string(s->boot_next));
	/* Unarmed: empty, so that the generation written above does not arm
	 * it (an older release's mark-good would never clear the count). */
	if (r == 0 && s->unconfirmed_armed)
		r = set_ulong(&env, "kairos_active_unconfirmed", s->unconfirmed);
	else if (r == 0)
		r = grubenv_set(&env, "kairos_active_unconfirmed", "");
	if (r == 0)
		r = grubenv_write_file_in_place(path, &env);
	grubenv_free(&env);
	if (r < 0)
		return log_error_errno(r, "Failed to write %s: %m", path);
	return 0;
}
