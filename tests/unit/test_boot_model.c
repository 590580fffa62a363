/* SPDX-License-Identifier: Apache-2.0 */
/* A model check of the boot state machine (docs/DESIGN.md, "The boot state
 * machine, checked"). Every sequence of up to MODEL_DEPTH events from the
 * initial states of a small model is explored breadth-first (each distinct
 * state once); the invariants are checked after every step. The decisions
 * are the real pure cores: boot_state_choose_slot / boot_state_fallback
 * (lib/boot_state.c; grub.cfg implements the same and tests/boot/grub-parity
 * checks it against grub-emu), boot_decide (initrd/decide.c),
 * recovery_decide (userspace/recovery_policy.c) and the state changes of
 * the verbs (install, rollback, mark, reset). What a file does when GRUB or
 * Linux uses it is the model's: a fault per image file.
 *
 * A failing invariant prints the sequence of events that led to it.
 * Size: ~1 141 000 states (with issue 17's count of a confirmed active's
 * boots, "a confirmed active stops coming up" and images of a release older
 * than the count; ~667 000 without the last, ~645 000 before the count),
 * 5.5 s of CPU, 12.8 s under ASan (user time; wall time grows with the
 * load). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot_options.h"
#include "boot_record.h"
#include "decide.h"
#include "log.h"
#include "recovery_policy.h"
#include "util.h"

#define MODEL_DEPTH 6
#define LIVENESS_BOOTS 12 /* boots without any event until the node must be up for good */
#define NIMG 7            /* image ids 1..6; 1 and 5 are recovery images */

/* What a file does when it is used. A copy can be damaged (NOGRUB, NOMOUNT,
 * EIO); an image can be broken in itself (PANIC, INITEXIT, UNHEALTHY). */
enum fault {
	FT_ABSENT,
	FT_OK,
	FT_NOGRUB,    /* GRUB cannot load it, Linux cannot mount it */
	FT_NOMOUNT,   /* GRUB loads its kernel, Linux cannot mount it */
	FT_EIO,       /* mounts, then EIO while the root is assembled */
	FT_PANIC,     /* its kernel panics before the initramfs runs (no driver) */
	FT_INITEXIT,  /* its init exits: a panic after the root was built */
	FT_UNHEALTHY, /* boots, the health check never passes */
	FT_COUNT,
};

enum up { DOWN, UP };

/* The whole model state: compact, compared and hashed bytewise. */
struct ms {
	uint8_t img[BOOT_SLOT_COUNT], st[BOOT_SLOT_COUNT], gen[BOOT_SLOT_COUNT];
	uint8_t tries_left, boot_next, auto_resets;
	uint8_t unconfirmed; /* kairos_active_unconfirmed: boots of the confirmed active since its last healthy one */
	uint8_t armed;       /* ... present for the active's generation: written by a mark-good that knows it */
	uint8_t old;         /* by image id (bit): a release older than the count (its mark-good never arms it) */
	uint8_t file[NIMG];  /* on the state partition, by image id */
	uint8_t rfile;       /* the recovery slot's image on the recovery partition */
	uint8_t grub_wfail;  /* GRUB's save_env fails (e.g. a file moved since install) */
	uint8_t policy_auto;
	uint8_t up, booted_slot, booted_img, kernel_img, reason; /* reason: enum boot_reason */
	uint8_t auto_reboots; /* automated-recovery reboots since an active was confirmed */
};

static void fill_id(char *buf, unsigned id)
{
	memset(buf, "0123456789abcdef"[id], IMAGE_ID_LEN);
	buf[IMAGE_ID_LEN] = '\0';
}

static unsigned id_of(const char *image)
{
	return image[0] ? (unsigned) (image[0] - '0') : 0;
}

static void to_bs(const struct ms *m, struct boot_state *s)
{
	boot_state_init(s);
	unsigned maxgen = 0;
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		if (!m->img[i])
			continue;
		fill_id(s->slots[i].image, m->img[i]);
		s->slots[i].status = (enum slot_status) m->st[i];
		s->slots[i].gen = m->gen[i];
		if (m->gen[i] > maxgen)
			maxgen = m->gen[i];
	}
	s->gen = maxgen;
	s->tries_left = m->tries_left;
	s->unconfirmed = m->unconfirmed;
	s->unconfirmed_armed = m->armed;
	s->boot_next = m->boot_next == 0xff ? BOOT_SLOT_NONE : (enum boot_slot) m->boot_next;
	s->auto_resets = m->auto_resets;
}

/* Back into the model. Generations only matter by order: renumbered 1..3. */
static void from_bs(struct ms *m, const struct boot_state *s)
{
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		m->img[i] = (uint8_t) id_of(s->slots[i].image);
		m->st[i] = m->img[i] ? (uint8_t) s->slots[i].status : 0;
		m->gen[i] = 0;
	}
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		if (!m->img[i])
			continue;
		unsigned rank = 1;
		for (int j = 0; j < BOOT_SLOT_COUNT; j++)
			if (m->img[j] && s->slots[j].gen < s->slots[i].gen)
				rank++;
		m->gen[i] = (uint8_t) rank;
	}
	m->tries_left = (uint8_t) s->tries_left;
	m->unconfirmed = (uint8_t) s->unconfirmed;
	m->armed = s->unconfirmed_armed;
	m->boot_next = s->boot_next == BOOT_SLOT_NONE ? 0xff : (uint8_t) s->boot_next;
	m->auto_resets = (uint8_t) s->auto_resets;
}

/* The fault of the file a slot's image is read from. */
static enum fault slot_file(const struct ms *m, enum boot_slot slot)
{
	if (slot < 0 || !m->img[slot])
		return FT_ABSENT;
	return (enum fault)(slot == BOOT_SLOT_RECOVERY ? m->rfile : m->file[m->img[slot]]);
}

static bool grub_loads(enum fault f)
{
	return f != FT_ABSENT && f != FT_NOGRUB;
}
static bool linux_mounts(enum fault f)
{
	return grub_loads(f) && f != FT_NOMOUNT;
}
/* A file that would boot to a healthy system by its own kernel. */
static bool bootable(enum fault f)
{
	return f == FT_OK;
}

/* Images no slot names leave the state partition (state_dir_clean). */
static void clean_files(struct ms *m)
{
	for (unsigned id = 1; id < NIMG; id++)
		if (m->img[BOOT_SLOT_ACTIVE] != id && m->img[BOOT_SLOT_PASSIVE] != id) {
			m->file[id] = FT_ABSENT;
			m->old &= (uint8_t) ~(1U << id);
		}
}

/* ---- violations ---- */

#define TRACE_MAX 16
static const char *inv_names[] = {
	"keep-confirmed",  "no-reboot-loop",       "grub-c-parity", "one-try-per-trying-boot", "loop-guard-bound",
	"something-boots", "own-kernel-confirmed", "verdict-kept",  "old-release-not-counted",
};
enum inv {
	INV_KEEP,
	INV_LOOP,
	INV_PARITY,
	INV_TRIES,
	INV_GUARD,
	INV_SOMETHING,
	INV_OWN_KERNEL,
	INV_VERDICT,
	INV_OLD,
	INV_COUNT
};
static unsigned long violations[INV_COUNT];
static char first_trace[INV_COUNT][1024];
static char cur_event[256];
static unsigned liveness_boot;          /* > 0 while check_liveness() boots alone */
static unsigned long traces_wanted = 1; /* MODEL_TRACES=N: print the first N counterexamples of each */

struct node {
	struct ms m;
	uint32_t parent; /* index of the state it was reached from */
	char event[48];
	uint8_t depth;
};
static struct node *nodes;
static uint32_t n_nodes, cap_nodes;
static uint32_t cur_node;

static void trace_of(uint32_t idx, char *buf, size_t size)
{
	const char *chain[TRACE_MAX + 2];
	unsigned n = 0;
	for (uint32_t i = idx; i != UINT32_MAX && n < TRACE_MAX; i = nodes[i].parent)
		chain[n++] = nodes[i].event;
	size_t o = 0;
	buf[0] = '\0';
	while (n-- > 0 && o < size)
		o += (size_t) snprintf(buf + o, size - o, "%s%s", chain[n], n ? " > " : "");
}

static void violate(enum inv inv, const char *fmt, ...)
{
	if (violations[inv]++ >= traces_wanted) {
		return;
	}
	char trace[700], what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	trace_of(cur_node, trace, sizeof(trace));
	char ev[sizeof(cur_event) + 32];
	snprintf(ev, sizeof(ev), "%s", cur_event);
	if (liveness_boot)
		snprintf(ev, sizeof(ev), "%.200s > [%u boots alone]", cur_event, liveness_boot);
	if (violations[inv] == 1)
		snprintf(first_trace[inv], sizeof(first_trace[inv]), "%s > %s: %s", trace, ev, what);
	else
		printf("# %s: %s > %s: %s\n", inv_names[inv], trace, ev, what);
}

/* ---- the boot ---- */

struct boot_outcome {
	bool up;
	bool nothing; /* GRUB or kairos-boot found nothing to boot */
};

/* GRUB (grub/grub.cfg): decide with the rules, write the counter, load the
 * entry's image or fall through to the slot boot_state_fallback names (the
 * same order as grub.cfg's kairos_fallback; tests/boot/grub-parity checks
 * that). entry: a person's pick when menu. s is the files (GRUB's writes
 * land there); g what GRUB holds in memory. Returns the slot whose kernel
 * runs, or BOOT_SLOT_NONE. */
static enum boot_slot grub_boot(struct ms *m, struct boot_state *s, enum boot_slot entry, bool menu,
				struct boot_options *o)
{
	struct boot_decision d;
	struct boot_state g = *s;
	bool failed[BOOT_SLOT_COUNT] = { 0 };
	boot_state_choose_slot(s, &d);
	if (!menu)
		entry = d.slot;
	o->counted = true;
	o->via = menu                               ? BOOT_VIA_MENU
		 : d.reason == BOOT_REASON_ONE_SHOT ? BOOT_VIA_ONE_SHOT
		 : d.reason == BOOT_REASON_FALLBACK ? BOOT_VIA_FALLBACK
						    : BOOT_VIA_RULES;
	if (!menu && (d.spend_try || d.clear_boot_next || d.count_boot)) {
		/* boot only what needs no write; a confirmed active GRUB cannot
		 * count boots uncounted (kairos-boot counts it) */
		if (m->grub_wfail) {
			o->counted = false;
			g.boot_next = BOOT_SLOT_NONE;
			g.tries_left = 0;
			boot_state_fallback(&g, failed, &d);
			if (d.slot != entry)
				o->via = d.reason == BOOT_REASON_LAST_RESORT ? BOOT_VIA_LAST_RESORT : BOOT_VIA_FALLBACK;
			entry = d.slot;
		} else {
			(void) boot_state_apply(s, &d);
			(void) boot_state_apply(&g, &d);
		}
	}
	for (int n = 0; n < 5 && entry != BOOT_SLOT_NONE; n++) {
		if (grub_loads(slot_file(m, entry)))
			return entry;
		failed[entry] = true;
		o->via = BOOT_VIA_FALLBACK;
		boot_state_fallback(&g, failed, &d);
		if ((d.spend_try || d.count_boot) && m->grub_wfail) {
			o->counted = false;
			g.tries_left = 0;
			boot_state_fallback(&g, failed, &d);
		} else if ((d.spend_try || d.alternate || d.count_boot) && !m->grub_wfail) {
			(void) boot_state_apply(s, &d);
			(void) boot_state_apply(&g, &d);
		}
		if (d.reason == BOOT_REASON_LAST_RESORT)
			o->via = BOOT_VIA_LAST_RESORT;
		entry = d.slot;
	}
	return BOOT_SLOT_NONE;
}

/* kairos-boot's mount loop (initrd/boot_sequence.c mount_first_usable_slot,
 * fall_back, and drop_failed_root for an image error while the root is
 * assembled): on an image fault mark the slot bad and take the slot
 * boot_state_fallback names. Returns the slot whose root is used, or
 * BOOT_SLOT_NONE. */
static enum boot_slot kairos_boot_mount(struct ms *m, struct boot_state *s, struct boot_decision *d, bool *cut,
					int cut_at, int *step)
{
	bool tried[BOOT_SLOT_COUNT] = { 0 };
	for (;;) {
		enum fault f = slot_file(m, d->slot);
		if (linux_mounts(f) && f != FT_EIO)
			return d->slot;
		tried[d->slot] = true;
		if (d->slot != BOOT_SLOT_RECOVERY) {
			(void) boot_state_mark_bad(s, d->slot, "model");
			if ((*step)++ == cut_at) {
				*cut = true;
				return BOOT_SLOT_NONE;
			}
		}
		boot_state_fallback(s, tried, d);
		if (d->slot == BOOT_SLOT_NONE)
			return BOOT_SLOT_NONE;
		(void) boot_state_apply(s, d);
	}
}

static void check_tries(const struct boot_decision *d, unsigned before, const struct boot_state *s)
{
	if (d->slot != BOOT_SLOT_ACTIVE || d->reason != BOOT_REASON_TRYING)
		return;
	if (s->slots[BOOT_SLOT_ACTIVE].status != SLOT_STATUS_NEW)
		return;
	if (s->tries_left + 1 != before)
		violate(INV_TRIES, "booted a trying active with tries %u -> %u", before, s->tries_left);
}

/* A whole boot. cut_at: the durable write after which the power goes (-1:
 * none). menu_entry: BOOT_SLOT_NONE for the timeout, else a person's pick;
 * reset_entry: the "reset from recovery" entry. */
static struct boot_outcome boot(struct ms *m, enum boot_slot menu_entry, bool reset_entry, int cut_at)
{
	struct boot_outcome out = { 0 };
	struct boot_state s;
	to_bs(m, &s);
	m->up = DOWN;
	m->booted_slot = m->booted_img = m->kernel_img = 0;
	int step = 0;
	unsigned tries_before = s.tries_left;

	struct boot_options o;
	boot_options_init(&o);
	enum boot_slot k = grub_boot(m, &s, menu_entry, menu_entry != BOOT_SLOT_NONE, &o);
	if (k == BOOT_SLOT_NONE) {
		out.nothing = true;
		from_bs(m, &s);
		return out;
	}
	if (step++ == cut_at) {
		from_bs(m, &s);
		return out;
	}
	unsigned kernel_img = m->img[k];
	enum fault kf = slot_file(m, k);
	if (kf == FT_PANIC) {
		from_bs(m, &s);
		return out;
	}
	o.grub_slot = k;
	fill_id(o.grub_image, kernel_img);

	/* kairos-boot */
	struct boot_decision d;
	char why[256];
	boot_decide(&s, &o, &d, why, sizeof(why));
	/* An older release rolled back to (or installed) is booted as before
	 * the count: its mark-good would never clear it. */
	if (d.active_skipped == SKIP_UNCONFIRMED && (m->old >> m->img[BOOT_SLOT_ACTIVE] & 1))
		violate(INV_OLD, "the confirmed active of an older release (image %u) was passed over for its count",
			m->img[BOOT_SLOT_ACTIVE]);
	if (boot_state_apply(&s, &d) && step++ == cut_at) {
		from_bs(m, &s);
		return out;
	}
	/* initrd/boot_sequence.c choose_slot: a confirmed active passed over
	 * for its count is marked bad (state.env saved: a durable write) */
	if (boot_state_retire_unconfirmed(&s, d.slot) && step++ == cut_at) {
		from_bs(m, &s);
		return out;
	}
	bool cut = false;
	enum boot_slot root = kairos_boot_mount(m, &s, &d, &cut, cut_at, &step);
	from_bs(m, &s);
	if (cut)
		return out;
	if (root < 0 || root >= BOOT_SLOT_COUNT) {
		out.nothing = true;
		return out;
	}
	check_tries(&d, tries_before, &s);
	if (slot_file(m, root) == FT_INITEXIT)
		return out;

	m->up = UP;
	m->booted_slot = (uint8_t) root;
	m->booted_img = m->img[root];
	m->kernel_img = (uint8_t) kernel_img;
	m->reason = (uint8_t) d.reason;
	out.up = true;
	if (root != BOOT_SLOT_RECOVERY)
		return out;

	/* kairos-recovery.service: reset --auto --reboot (userspace/cmd_reset.c) */
	struct recovery_facts f = {
		.booted = BOOT_SLOT_RECOVERY,
		.reason = boot_reason_to_string(d.reason),
		.reset_requested = reset_entry,
		.policy = m->policy_auto ? RECOVERY_POLICY_AUTO : RECOVERY_POLICY_MANUAL,
		.policy_source = "model",
		.auto_resets = s.auto_resets,
	};
	enum recovery_action action = recovery_decide(&f, why, sizeof(why));
	if (action == RECOVERY_DECLINE)
		return out;
	unsigned rid = m->img[BOOT_SLOT_RECOVERY];
	m->file[rid] = m->rfile; /* place_image: a fresh copy of the booted image */
	if (step++ == cut_at)
		goto rebooted;
	bool automated = action == RECOVERY_RESET_AUTO;
	char id[IMAGE_ID_LEN + 1];
	fill_id(id, rid);
	if (automated || !boot_state_is_reset_to(&s, id)) {
		struct ms before = *m;
		(void) boot_state_reset(&s, id, automated);
		from_bs(m, &s);
		if (!automated)
			m->auto_reboots = 0; /* a person's reset: the count starts over */
		/* A confirmed image that would still boot is not the automation's to delete. */
		for (int i = 0; i < 2; i++)
			if (before.img[i] && before.st[i] == SLOT_STATUS_GOOD &&
			    bootable(slot_file(&before, (enum boot_slot) i)) && automated &&
			    m->img[BOOT_SLOT_ACTIVE] != before.img[i])
				violate(INV_KEEP, "automated reset deleted the confirmed, bootable %s image",
					boot_slot_to_string((enum boot_slot) i));
		if (step++ == cut_at)
			goto rebooted;
		clean_files(m);
	}
	if (automated && ++m->auto_reboots > RESET_AUTO_MAX)
		violate(INV_GUARD, "%u automated-recovery reboots without a confirmed active", m->auto_reboots);
rebooted:
	m->up = DOWN;
	m->booted_slot = m->booted_img = m->kernel_img = 0;
	out.up = false;
	return out;
}

/* kairos-upgrade mark-good after the health check passed (userspace/cmd_mark.c),
 * then the invariants of a confirmation. */
static void mark_good(struct ms *m, bool lock_busy)
{
	const struct ms before = *m;
	struct boot_state s;
	to_bs(m, &s);
	/* lock_busy: an upgrade holds the state lock; mark-good waits for it
	 * (state_dir_lock_wait), so it goes on all the same. */
	(void) lock_busy;
	enum boot_slot slot = BOOT_SLOT_NONE;
	for (int i = 0; i < BOOT_SLOT_COUNT; i++)
		if (m->img[i] == m->booted_img && (slot == BOOT_SLOT_NONE || i == m->booted_slot))
			slot = (enum boot_slot) i;
	if (slot != BOOT_SLOT_NONE && s.slots[slot].status == SLOT_STATUS_NEW && m->kernel_img == m->booted_img) {
		(void) boot_state_mark_good(&s, slot);
		from_bs(m, &s);
		if (slot == BOOT_SLOT_ACTIVE)
			m->auto_reboots = 0;
	}
	/* A healthy boot of the confirmed active clears its count and arms it
	 * (cmd_mark.c clear_unconfirmed, counter.env written in place); an
	 * older release's mark-good knows nothing of it. */
	if (slot == BOOT_SLOT_ACTIVE && s.slots[slot].status == SLOT_STATUS_GOOD && !(m->old >> m->booted_img & 1)) {
		s.unconfirmed = 0;
		s.unconfirmed_armed = true;
		from_bs(m, &s);
	}

	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		if (i != slot || m->img[i] != before.img[i])
			continue;
		if (before.st[i] == SLOT_STATUS_BAD && m->st[i] != SLOT_STATUS_BAD)
			violate(INV_VERDICT, "mark-good turned the %s slot's bad verdict into good",
				boot_slot_to_string((enum boot_slot) i));
		if (before.st[i] != SLOT_STATUS_GOOD && m->st[i] == SLOT_STATUS_GOOD &&
		    before.kernel_img != before.booted_img)
			violate(INV_OWN_KERNEL, "mark-good confirmed image %u, but the kernel of image %u ran",
				before.booted_img, before.kernel_img);
		if (before.st[i] == SLOT_STATUS_NEW && before.kernel_img == before.booted_img &&
		    m->st[i] != SLOT_STATUS_GOOD)
			violate(INV_VERDICT, "a healthy boot of image %u under its own kernel was not confirmed%s",
				before.booted_img, lock_busy ? " (an upgrade held the lock)" : "");
	}
}

/* ---- liveness: with no further event, is the node up for good within a bound? ---- */

static bool some_image_boots(const struct ms *m)
{
	for (int i = 0; i < BOOT_SLOT_COUNT; i++)
		if (bootable(slot_file(m, (enum boot_slot) i)))
			return true;
	return false;
}

static void check_liveness(const struct ms *start)
{
	struct ms m = *start;
	if (m.up == UP)
		return;
	for (unsigned n = 0; n < LIVENESS_BOOTS; n++) {
		liveness_boot = n + 1; /* for a violation's trace */
		struct boot_outcome o = boot(&m, BOOT_SLOT_NONE, false, -1);
		liveness_boot = 0;
		if (o.up) {
			enum fault f = slot_file(&m, (enum boot_slot) m.booted_slot);
			if (f != FT_UNHEALTHY) {
				mark_good(&m, false);
				return; /* healthy and up */
			}
			/* not healthy: the node is rebooted (and falls back by its tries) */
			m.up = DOWN;
		}
	}
	/* Two faults at once: GRUB cannot write counter.env and recovery does
	 * not boot. Nothing can count a kernel that panics before kairos-boot
	 * or alternate the last resort: outside the guarantee (docs/DESIGN.md). */
	bool double_fault = m.grub_wfail && !bootable(slot_file(&m, BOOT_SLOT_RECOVERY));
	/* A confirmed image that stopped coming up and is no longer active
	 * (rolled back from, or pushed to passive by an upgrade): nothing
	 * counts the boots of passive; `verify` and mark-corrupt (issue 17,
	 * mechanisms 1 and 3) are its guard, outside the model. */
	bool broken_passive = m.img[BOOT_SLOT_PASSIVE] && m.st[BOOT_SLOT_PASSIVE] == SLOT_STATUS_GOOD &&
			      slot_file(&m, BOOT_SLOT_PASSIVE) == FT_INITEXIT;
	/* A confirmed active that stopped coming up before its count was
	 * armed (an older release, or a rollback or reset not yet followed by
	 * a healthy boot): booted as before the count (docs/DESIGN.md). */
	bool unarmed_active = m.img[BOOT_SLOT_ACTIVE] && m.st[BOOT_SLOT_ACTIVE] == SLOT_STATUS_GOOD && !m.armed &&
			      slot_file(&m, BOOT_SLOT_ACTIVE) == FT_INITEXIT;
	if (some_image_boots(&m) && !double_fault && !broken_passive && !unarmed_active)
		violate(INV_LOOP, "still rebooting after %d boots with no other event", LIVENESS_BOOTS);
}

/* ---- the state graph ---- */

#define HASH_BITS 22
static uint64_t *table; /* open addressing: hash << 32 | (node index + 1) */

static uint64_t hash_ms(const struct ms *m)
{
	uint64_t h = 1469598103934665603ULL;
	const uint8_t *p = (const uint8_t *) m;
	for (size_t i = 0; i < sizeof(*m); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static bool add_state(const struct ms *m, uint32_t parent, const char *event, uint8_t depth)
{
	uint64_t mask = (1ULL << HASH_BITS) - 1, h = hash_ms(m);
	for (uint64_t i = h & mask;; i = (i + 1) & mask) {
		if (!table[i]) {
			if (n_nodes == cap_nodes) {
				cap_nodes = cap_nodes ? cap_nodes * 2 : 65536;
				nodes = realloc(nodes, cap_nodes * sizeof(*nodes));
				assert_non_null(nodes);
			}
			assert_true(n_nodes < (1U << HASH_BITS) * 3 / 4);
			nodes[n_nodes] = (struct node){ .m = *m, .parent = parent, .depth = depth };
			snprintf(nodes[n_nodes].event, sizeof(nodes[n_nodes].event), "%s", event);
			table[i] = (h >> 32) << 32 | ++n_nodes;
			return true;
		}
		/* the stored half of the hash spares most visits to the node */
		if (table[i] >> 32 == h >> 32 && memcmp(&nodes[(uint32_t) table[i] - 1].m, m, sizeof(*m)) == 0)
			return false;
	}
}

static const char *fault_names[FT_COUNT] = { "absent", "ok",    "nogrub",   "nomount",
					     "eio",    "panic", "initexit", "unhealthy" };

/* One step: the event is applied to a copy of the state, the invariants
 * that belong to a step are checked, and the result is queued. */
static void step(const struct ms *from, const char *event, struct ms *to)
{
	struct ms before = *from;
	snprintf(cur_event, sizeof(cur_event), "%s", event);
	/* keep-confirmed: outside user commands and counted automated resets
	 * (checked where they happen), a confirmed image stays in a slot. */
	bool user = strncmp(event, "user:", 5) == 0;
	if (!user && to->auto_resets == before.auto_resets)
		for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
			if (!before.img[i] || before.st[i] != SLOT_STATUS_GOOD)
				continue;
			bool kept = false;
			for (int j = 0; j < BOOT_SLOT_COUNT; j++)
				kept |= to->img[j] == before.img[i];
			if (!kept)
				violate(INV_KEEP, "confirmed image %u left the slots", before.img[i]);
		}
	if (to->auto_resets > RESET_AUTO_MAX)
		violate(INV_GUARD, "auto_resets %u > %d", to->auto_resets, RESET_AUTO_MAX);
	if (add_state(to, cur_node, event, (uint8_t) (nodes[cur_node].depth + 1)))
		check_liveness(to);
}

/* GRUB and kairos-boot name the same slot for the same files: kairos-boot
 * deciding alone (no kairos.counted=, a direct kernel boot) with the files
 * GRUB cannot load failing to mount. */
static void check_parity(const struct ms *m, enum boot_slot menu_entry)
{
	struct ms g = *m, c = *m;
	for (unsigned id = 1; id < NIMG; id++)
		if (c.file[id] != FT_NOGRUB && c.file[id] != FT_ABSENT)
			c.file[id] = FT_OK;
	if (c.rfile != FT_NOGRUB && c.rfile != FT_ABSENT)
		c.rfile = FT_OK;
	g.grub_wfail = 0;
	struct boot_state s;
	to_bs(&g, &s);
	struct boot_options o;
	boot_options_init(&o);
	enum boot_slot gs = grub_boot(&g, &s, menu_entry, menu_entry != BOOT_SLOT_NONE, &o);

	to_bs(&c, &s);
	struct boot_decision d;
	char why[256];
	boot_options_init(&o);
	boot_decide(&s, &o, &d, why, sizeof(why));
	if (menu_entry != BOOT_SLOT_NONE)
		d = (struct boot_decision){ .slot = menu_entry, .reason = BOOT_REASON_MENU };
	(void) boot_state_apply(&s, &d);
	bool cut = false;
	int st = 0;
	enum boot_slot cs = kairos_boot_mount(&c, &s, &d, &cut, -1, &st);
	snprintf(cur_event, sizeof(cur_event), "%s", menu_entry == BOOT_SLOT_NONE ? "boot" : "user:menu");
	if (gs != cs)
		violate(INV_PARITY, "GRUB boots %s, kairos-boot %s (menu %s)", boot_slot_to_string(gs),
			boot_slot_to_string(cs), boot_slot_to_string(menu_entry));
}

static void explore_from(uint32_t idx)
{
	cur_node = idx;
	const struct ms m0 = nodes[idx].m;
	struct ms m;
	char ev[40];

	if (m0.up == DOWN) {
		check_parity(&m0, BOOT_SLOT_NONE);
		for (int e = -1; e < BOOT_SLOT_COUNT + 1; e++) {
			enum boot_slot entry = e < 0                  ? BOOT_SLOT_NONE
					       : e == BOOT_SLOT_COUNT ? BOOT_SLOT_RECOVERY
								      : (enum boot_slot) e;
			if (e >= 0) {
				if (!m0.img[entry] && entry != BOOT_SLOT_RECOVERY)
					continue;
				check_parity(&m0, entry);
			}
			for (int cut = -1; cut < 4; cut++) {
				m = m0;
				snprintf(ev, sizeof(ev), "%s%s%s",
					 e < 0                  ? "boot"
					 : e == BOOT_SLOT_COUNT ? "user:menu reset"
								: "user:menu ",
					 e < 0 || e == BOOT_SLOT_COUNT ? "" : boot_slot_to_string(entry),
					 cut < 0    ? ""
					 : cut == 0 ? " cut@1"
					 : cut == 1 ? " cut@2"
					 : cut == 2 ? " cut@3"
						    : " cut@4");
				snprintf(cur_event, sizeof(cur_event), "%s", ev);
				struct boot_outcome o = boot(&m, entry, e == BOOT_SLOT_COUNT, cut);
				if (o.nothing && some_image_boots(&m0))
					violate(INV_SOMETHING, "nothing booted, but an image could");
				step(&m0, ev, &m);
			}
		}
	} else {
		/* the health check passes (kairos-mark-good.service) */
		if (slot_file(&m0, (enum boot_slot) m0.booted_slot) != FT_UNHEALTHY) {
			for (int busy = 0; busy < 2; busy++) {
				m = m0;
				snprintf(ev, sizeof(ev), busy ? "health ok, lock busy" : "health ok");
				snprintf(cur_event, sizeof(cur_event), "%s", ev);
				mark_good(&m, busy);
				step(&m0, ev, &m);
			}
		}
		m = m0;
		m.up = DOWN;
		step(&m0, "reboot", &m);

		/* user actions */
		struct boot_state s;
		/* FT_COUNT: a healthy image of an older release (before the count) */
		for (int f = FT_OK; f <= FT_COUNT; f++) {
			if (f == FT_NOMOUNT || f == FT_EIO)
				continue; /* damage of a copy, below */
			/* a new image: not one in a slot, nor the one running */
			static const unsigned os_ids[] = { 2, 3, 4, 6 };
			unsigned id = 0;
			for (size_t c = 0; c < ELEMENTSOF(os_ids) && !id; c++)
				if (m0.img[BOOT_SLOT_ACTIVE] != os_ids[c] && m0.img[BOOT_SLOT_PASSIVE] != os_ids[c] &&
				    m0.booted_img != os_ids[c])
					id = os_ids[c];
			m = m0;
			to_bs(&m, &s);
			char hex[IMAGE_ID_LEN + 1];
			fill_id(hex, id);
			(void) boot_state_install_active(&s, hex);
			from_bs(&m, &s);
			m.file[id] = f == FT_COUNT ? FT_OK : (uint8_t) f;
			m.old = (uint8_t) ((m.old & ~(1U << id)) | (f == FT_COUNT ? 1U << id : 0));
			clean_files(&m);
			snprintf(ev, sizeof(ev), "user:upgrade(%s)",
				 f == FT_COUNT ? "ok, older release" : fault_names[f]);
			snprintf(cur_event, sizeof(cur_event), "%s", ev);
			step(&m0, ev, &m);
		}
		/* A recovery image whose own kernel or init fails is outside the
		 * model (docs/DESIGN.md): recovery is what heals, and nothing
		 * counts its boots. Damage to its file is in (below). */
		for (int f = FT_OK; f <= FT_OK; f++) {
			m = m0;
			to_bs(&m, &s);
			unsigned id = m.img[BOOT_SLOT_RECOVERY] == 1 ? 5 : 1;
			char hex[IMAGE_ID_LEN + 1];
			fill_id(hex, id);
			(void) boot_state_install_recovery(&s, hex);
			from_bs(&m, &s);
			m.rfile = (uint8_t) f;
			clean_files(&m);
			snprintf(ev, sizeof(ev), "user:upgrade --recovery(%s)", fault_names[f]);
			snprintf(cur_event, sizeof(cur_event), "%s", ev);
			step(&m0, ev, &m);
		}
		m = m0;
		to_bs(&m, &s);
		if (boot_state_rollback(&s) == 0) {
			from_bs(&m, &s);
			step(&m0, "user:rollback", &m);
		}
		m = m0;
		to_bs(&m, &s);
		if (m.booted_slot != BOOT_SLOT_RECOVERY && m.img[m.booted_slot] == m.booted_img &&
		    boot_state_mark_bad(&s, (enum boot_slot) m.booted_slot, "user") == 0) {
			from_bs(&m, &s);
			step(&m0, "user:mark-bad", &m);
		}
		for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
			if (i != BOOT_SLOT_RECOVERY && !m0.img[i])
				continue;
			m = m0;
			m.boot_next = (uint8_t) i;
			snprintf(ev, sizeof(ev), "user:boot-next %s", boot_slot_to_string((enum boot_slot) i));
			step(&m0, ev, &m);
		}
		if (m0.booted_slot == BOOT_SLOT_RECOVERY) {
			m = m0;
			to_bs(&m, &s);
			char hex[IMAGE_ID_LEN + 1];
			fill_id(hex, m.img[BOOT_SLOT_RECOVERY]);
			if (!boot_state_is_reset_to(&s, hex)) {
				(void) boot_state_reset(&s, hex, false);
				from_bs(&m, &s);
			}
			if (m.file[m.img[BOOT_SLOT_ACTIVE]] == FT_ABSENT)
				m.file[m.img[BOOT_SLOT_ACTIVE]] = m.rfile;
			clean_files(&m);
			m.auto_reboots = 0;
			m.up = DOWN;
			step(&m0, "user:reset", &m);
		}
	}
	/* damage, at any time */
	for (int slot = 0; slot < BOOT_SLOT_COUNT; slot++) {
		if (!m0.img[slot])
			continue;
		for (int f = FT_NOGRUB; f <= FT_EIO; f++) {
			if (slot_file(&m0, (enum boot_slot) slot) == FT_ABSENT ||
			    (int) slot_file(&m0, (enum boot_slot) slot) == f)
				continue;
			m = m0;
			if (slot == BOOT_SLOT_RECOVERY)
				m.rfile = (uint8_t) f;
			else
				m.file[m.img[slot]] = (uint8_t) f;
			snprintf(ev, sizeof(ev), "damage %s copy: %s", boot_slot_to_string((enum boot_slot) slot),
				 fault_names[f]);
			step(&m0, ev, &m);
		}
	}
	/* A confirmed active stops coming up (issue 17: a corrupt block in its
	 * init or a library, read through dm-verity as EIO): its init exits. */
	if (m0.img[BOOT_SLOT_ACTIVE] && m0.st[BOOT_SLOT_ACTIVE] == SLOT_STATUS_GOOD &&
	    slot_file(&m0, BOOT_SLOT_ACTIVE) == FT_OK) {
		m = m0;
		m.file[m.img[BOOT_SLOT_ACTIVE]] = FT_INITEXIT;
		step(&m0, "damage: confirmed active stops coming up", &m);
	}
	if (!m0.grub_wfail) {
		m = m0;
		m.grub_wfail = 1;
		step(&m0, "grub save_env fails from now on", &m);
	}
}

/* upgraded 2: as 1, the confirmed passive an older release's (a rollback
 * to the previous release: the first emergency action of a fleet). */
static void initial(struct ms *m, int upgraded, bool policy_auto)
{
	struct boot_state s;
	char hex[IMAGE_ID_LEN + 1];
	boot_state_init(&s);
	fill_id(hex, 1);
	(void) boot_state_install_recovery(&s, hex);
	fill_id(hex, 2);
	(void) boot_state_install_active(&s, hex);
	if (upgraded) { /* a confirmed image in passive, a new one in active */
		(void) boot_state_mark_good(&s, BOOT_SLOT_ACTIVE);
		fill_id(hex, 3);
		(void) boot_state_install_active(&s, hex);
	}
	*m = (struct ms){ .rfile = FT_OK, .policy_auto = policy_auto };
	from_bs(m, &s);
	m->file[2] = FT_OK;
	if (upgraded)
		m->file[3] = FT_OK;
	if (upgraded == 2)
		m->old = 1U << 2;
}

static void test_model(void **unused)
{
	(void) unused;
	log_set_max_level((enum log_level) 0); /* the cores log every refusal: millions here */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const char *want = getenv("MODEL_TRACES");
	if (want)
		traces_wanted = strtoul(want, NULL, 10);
	table = calloc(1U << HASH_BITS, sizeof(*table));
	assert_non_null(table);
	static const char *starts[3][2] = {
		{ "start(fresh, manual)", "start(fresh, auto)" },
		{ "start(upgraded, manual)", "start(upgraded, auto)" },
		{ "start(upgraded from an older release, manual)", "start(upgraded from an older release, auto)" },
	};
	for (int up = 0; up < 3; up++)
		for (int pol = 0; pol < 2; pol++) {
			struct ms m;
			initial(&m, up, pol);
			(void) add_state(&m, UINT32_MAX, starts[up][pol], 0);
		}
	for (uint32_t i = 0; i < n_nodes; i++)
		if (nodes[i].depth < MODEL_DEPTH)
			explore_from(i);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	unsigned long total = 0;
	for (int i = 0; i < INV_COUNT; i++) {
		total += violations[i];
		if (violations[i])
			printf("# VIOLATED %s (%lu times), first: %s\n", inv_names[i], violations[i], first_trace[i]);
	}
	printf("# boot model: %u states explored (every sequence of %d events), %.1f s\n", n_nodes, MODEL_DEPTH,
	       (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(table);
	free(nodes);
	assert_int_equal(total, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
