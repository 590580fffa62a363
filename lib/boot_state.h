/* SPDX-License-Identifier: Apache-2.0 */
/* The boot state: which image is in which slot, and how the next boot is
 * chosen. Two files on the state partition, both GRUB environment blocks:
 *
 *   state.env    the slot map; written only by replacing it atomically
 *                (temp + rename), so it is always whole: the commit point of
 *                every state change (upgrade, rollback, mark-good, mark-bad).
 *   counter.env  what changes at boot: the active slot's tries and the
 *                one-shot choice; rewritten in place by GRUB's save_env and
 *                by kairos-boot. A torn or damaged counter falls back to
 *                defaults without touching the slot map.
 *
 * The tries belong to one installation of the active slot: the counter
 * records the generation it counts for, and a counter for another generation
 * is stale, i.e. a fresh install starts with tries_max. So committing an
 * upgrade is one rename of state.env, with no second file to keep in step.
 *
 * The rules (grub/grub.cfg implements the same, see docs/DESIGN.md):
 *  1. a one-shot choice naming a slot with an image wins once, spends
 *     nothing, and is cleared;
 *  2. active, if it has an image and is not bad: confirmed good boots while
 *     it has not failed to come up BOOT_UNCONFIRMED_MAX times in a row
 *     (counted before its root is used, cleared by mark-good at each
 *     healthy boot; only once mark-good has armed the count for this
 *     generation); new boots while it has tries and spends one before
 *     its root is used;
 *  3. otherwise passive, if it has an image and is confirmed good;
 *  4. otherwise recovery, which always boots. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verity_record.h"

#define BOOT_STATE_FILE "state.env"
#define BOOT_COUNTER_FILE "counter.env"
#define BOOT_TRIES_DEFAULT 3
#define BOOT_TRIES_LIMIT 9 /* GRUB has no arithmetic: grub.cfg decrements with an if-chain up to 9 */
#define IMAGE_ID_LEN 64    /* hex sha256 of the OCI manifest */
#define SLOT_REASON_MAX 64
/* The loop guard of automated recovery: at most this many automated resets
 * until an active image is confirmed again (docs/DESIGN.md). */
#define RESET_AUTO_MAX 2
/* Boots of a confirmed active that never reached mark-good, in a row, after
 * which rule 2 passes over it (issue 17: a corrupt block in what boots). */
#define BOOT_UNCONFIRMED_MAX 2
#define BOOT_UNCONFIRMED_REASON "confirmed active did not come up twice in a row"

enum boot_slot {
	BOOT_SLOT_NONE = -1,
	BOOT_SLOT_ACTIVE = 0,
	BOOT_SLOT_PASSIVE,
	BOOT_SLOT_RECOVERY,
	BOOT_SLOT_COUNT,
};

/* What boot needs to set up the slot's dm-verity device, committed with the
 * slot: kairos_<slot>_verity=ROOT_HEX:DATA_BLOCKS:HASH_START_BLOCK (the salt
 * is read from the image's verity superblock: the root hash covers it). */
enum slot_verity_state {
	SLOT_VERITY_NONE,    /* no key: an image installed before images carried a tree */
	SLOT_VERITY_SET,     /* a valid record: boot must verify against it */
	SLOT_VERITY_DAMAGED, /* a key that does not parse: the slot cannot boot, never "unverified" */
};
/* Bounds of the record in state.env (also what keeps grubenv's 1024 bytes
 * enough for three of them): 2^40 blocks of 4096 bytes = 4 PiB. */
#define SLOT_VERITY_BLOCKS_MAX (UINT64_C(1) << 40)
/* The value's length at most: 64 hex + ':' + 13 digits + ':' + 13 digits. */
#define SLOT_VERITY_TEXT_MAX (2 * VERITY_DIGEST_SIZE + 2 * 13 + 2)

struct slot_verity {
	uint64_t data_blocks;
	uint64_t hash_start_block; /* data_blocks < hash_start_block <= SLOT_VERITY_BLOCKS_MAX + 1 */
	uint8_t root_hash[VERITY_DIGEST_SIZE];
	enum slot_verity_state state;
};

enum slot_status {
	SLOT_STATUS_NEW,  /* installed, not yet confirmed: boots on tries */
	SLOT_STATUS_GOOD, /* confirmed by mark-good after a healthy boot */
	SLOT_STATUS_BAD,  /* marked failed (mark-bad, or the image did not mount) */
};

struct slot_state {
	char image[IMAGE_ID_LEN + 1]; /* "" when the slot is empty */
	enum slot_status status;
	unsigned long gen;            /* installation generation */
	char reason[SLOT_REASON_MAX]; /* why it is bad; "" otherwise */
	struct slot_verity verity;    /* none for an empty slot */
};

struct boot_state {
	struct slot_state slots[BOOT_SLOT_COUNT];
	unsigned tries_max;
	unsigned long gen;    /* last generation handed out */
	unsigned auto_resets; /* automated resets since an active was last confirmed */

	/* From counter.env. tries_left is already resolved against the active
	 * slot's generation (stale counter => tries_max). */
	unsigned tries_left;
	/* kairos_active_unconfirmed: boots of the confirmed active since its
	 * last healthy one (0..9 in the file; BOOT_UNCONFIRMED_MAX and above:
	 * it is passed over). Resolved against the active's generation as
	 * tries_left is. */
	unsigned unconfirmed;
	/* The count is kept only when armed: counter.env holds the key for the
	 * active's generation, written first by a mark-good that knows it.
	 * Unarmed (an older release's mark-good never clears it), a confirmed
	 * active is neither counted nor passed over: as before the count. */
	bool unconfirmed_armed;
	enum boot_slot boot_next;
	bool counter_damaged; /* counter.env was unreadable: defaults in use */
};

enum boot_reason {
	BOOT_REASON_CONFIRMED,   /* active, confirmed good */
	BOOT_REASON_TRYING,      /* active, new, spending a try */
	BOOT_REASON_FALLBACK,    /* active unusable: passive or recovery */
	BOOT_REASON_ONE_SHOT,    /* boot-next choice */
	BOOT_REASON_MENU,        /* a person picked the entry in GRUB's menu */
	BOOT_REASON_LAST_RESORT, /* every slot the rules allow failed: a bad or spent image, loudly */
};

enum slot_skip_cause {
	SKIP_NONE,
	SKIP_EMPTY,           /* no image in the slot */
	SKIP_BAD,             /* marked bad */
	SKIP_TRIES_EXHAUSTED, /* new, and no tries left */
	SKIP_NOT_CONFIRMED,   /* passive is only used when confirmed good */
	SKIP_UNCONFIRMED,     /* good, but did not come up BOOT_UNCONFIRMED_MAX boots in a row */
};

struct boot_decision {
	enum boot_slot slot;
	enum boot_reason reason;
	bool spend_try;       /* apply() takes one of the active slot's tries */
	bool clear_boot_next; /* apply() clears the one-shot choice */
	bool alternate;       /* last resort: apply() makes the other of active and passive the one-shot choice */
	unsigned tries_left;  /* active's tries after apply() (when trying) */
	bool count_boot;      /* apply() counts a boot of the confirmed active (kairos_active_unconfirmed) */
	enum slot_skip_cause active_skipped, passive_skipped;
};

void boot_state_init(struct boot_state *s);

/* The pure decision: no I/O, same input => same output. */
void boot_state_choose_slot(const struct boot_state *s, struct boot_decision *d);
/* The slot to boot when the slots in failed[] could not be loaded or
 * mounted in this boot: the rules again without them (active if good or new
 * with tries left, spending one; passive if good; recovery). With all of
 * those gone, the last resort: rather than reboot forever on one broken
 * image, boot an image that is there although the rules refuse it (bad, or
 * out of tries), active before passive, and make the other one the one-shot
 * choice of the next boot: the two alternate until one comes up.
 * BOOT_SLOT_NONE when nothing is left at all. grub.cfg's kairos_boot
 * implements the same order. */
void boot_state_fallback(const struct boot_state *s, const bool failed[BOOT_SLOT_COUNT], struct boot_decision *d);
/* Apply a decision's effect on the counter. Returns true when the counter
 * changed and must be written before the chosen root is used. */
bool boot_state_apply(struct boot_state *s, const struct boot_decision *d);

/* A confirmed active passed over by its unconfirmed boots (the boot went
 * to another slot, booted): marked bad with BOOT_UNCONFIRMED_REASON, so
 * that it stays passed over (after an upgrade too, as passive) until a
 * person installs it again. true: s changed, the caller saves state.env. */
bool boot_state_retire_unconfirmed(struct boot_state *s, enum boot_slot booted);

/* One line for logs and records: "fallback to passive: active has no tries left". */
void boot_decision_describe(const struct boot_decision *d, char *buf, size_t size);

const char *boot_slot_to_string(enum boot_slot slot);
enum boot_slot boot_slot_from_string(const char *s); /* BOOT_SLOT_NONE if unknown */
const char *slot_status_to_string(enum slot_status status);
const char *slot_skip_cause_to_string(enum slot_skip_cause cause);
bool image_id_is_valid(const char *id); /* 64 lowercase hex */
/* The image id in a manifest digest "sha256:<id>" (a pointer into digest);
 * NULL when digest is not one (images are named by their manifest digest). */
const char *image_id_from_digest(const char *digest);

/* State changes (pure; the caller saves state.env once: the commit point). */
/* New image becomes active (new, tries_max tries); old active becomes passive;
 * old passive goes. Re-installing the active image keeps passive as it is. */
int boot_state_install_active(struct boot_state *s, const char *image_id);
int boot_state_install_recovery(struct boot_state *s, const char *image_id);
/* The verity record of the image the slot now names (rec NULL or
 * rec->data_blocks 0: none, an image without a tree), set by the same
 * change that named the image, before the save. -EINVAL: not a record
 * state.env can hold (bounds above, hash start != hash_offset / 4096 + 1);
 * -ENOENT: the slot is empty. */
int boot_state_set_verity(struct boot_state *s, enum boot_slot slot, const struct verity_record *rec);
/* The record as kairos_<slot>_verity holds it (SLOT_VERITY_TEXT_MAX + 1). */
void slot_verity_format(const struct slot_verity *v, char *buf, size_t size);
/* Strict: 64 lowercase hex, ':', DATA_BLOCKS, ':', HASH_START_BLOCK, the
 * numbers decimal without sign or leading zero and in the bounds above.
 * -EBADMSG with why in *why (a static string) otherwise. */
int slot_verity_parse(const char *text, struct slot_verity *ret, const char **why);
int boot_state_mark_good(struct boot_state *s, enum boot_slot slot);
int boot_state_mark_bad(struct boot_state *s, enum boot_slot slot, const char *reason);
/* Passive becomes active (confirmed), active becomes passive. -ENOENT: passive
 * empty; -EINVAL: passive is bad or not confirmed. */
int boot_state_rollback(struct boot_state *s);
/* Reset from recovery: image_id becomes the active image (new, fresh tries,
 * a new generation), passive is emptied, the one-shot choice dropped,
 * recovery left as it is. automated counts the reset for the loop guard; a
 * person's reset clears the count. Marking an active image good clears it
 * too (boot_state_mark_good). */
int boot_state_reset(struct boot_state *s, const char *image_id, bool automated);
/* Whether boot_state_reset(s, image_id, ...) would change nothing that
 * matters to the next boot: active holds image_id, is not bad and can boot
 * (good, or new with tries left), passive is empty. */
bool boot_state_is_reset_to(const struct boot_state *s, const char *image_id);

/* Files. load: -ENOENT when state.env is missing; -EBADMSG when it is damaged
 * (s then holds defaults: every slot empty, so recovery boots). A slot's
 * verity key that does not parse damages that slot only (verity.state
 * SLOT_VERITY_DAMAGED, kept so by save). save: when the map does not fit
 * GRUB's 1024 bytes, the slots' reasons (only informational) are shortened
 * until it does. A damaged
 * counter.env is not an error: counter_damaged is set and defaults used. */
int boot_state_load(const char *dir, struct boot_state *s);
int boot_state_save(const char *dir, const struct boot_state *s);
int boot_state_save_counter(const char *dir, const struct boot_state *s);
