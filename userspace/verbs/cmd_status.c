/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade status: what booted and why, what each slot holds, what
 * the next boot would choose. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "corrupt_record.h"
#include "image_meta.h"
#include "install_age.h"
#include "log.h"
#include "node_policy.h"
#include "sanitize.h"
#include "util.h"
#include "version.h"

static const char help_text[] = "Usage: kairos-upgrade status [--json] [OPTIONS]\n"
				"\n"
				"Show the booted slot and why, each slot's image, whether it is confirmed or\n"
				"how many tries it has left, the one-shot choice, what the next boot would\n"
				"choose, and the free space on the state partition. Booted from recovery:\n"
				"how it was reached, and what automated recovery did (kairos-recovery.service).\n"
				"On a live system (booted from a kairos-build-iso ISO), what booted and that\n"
				"nothing is installed.\n"
				"\n"
				"  --json              one JSON object instead of text\n" STATE_OPTIONS_HELP
				"  -h, --help          show this help\n";

static void format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double) bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

/* A copy of v with every string and key in its printable form: the record,
 * the state files and the images' metadata come from a disk, and JSON (as
 * jansson writes it) escapes C0 controls only, not DEL or C1. */
static json_t *json_sanitized(json_t *v)
{
	if (json_is_string(v)) {
		_cleanup_free_ char *s = sanitize_strdup(json_string_value(v));
		return s ? json_string(s) : NULL;
	}
	json_t *copy = json_is_object(v) ? json_object() : json_is_array(v) ? json_array() : json_copy(v);
	if (!copy)
		return NULL;
	const char *key;
	json_t *item;
	size_t i;
	if (json_is_object(v))
		json_object_foreach(v, key, item)
		{
			_cleanup_free_ char *k = sanitize_strdup(key);
			if (!k || json_object_set_new(copy, k, json_sanitized(item)) < 0)
				return json_decref(copy), NULL;
		}
	else if (json_is_array(v))
		json_array_foreach(v, i, item) if (json_array_append_new(copy, json_sanitized(item)) <
						   0) return json_decref(copy),
			NULL;
	return copy;
}

static int print_json_object(json_t *o)
{
	json_t *clean = json_sanitized(o);
	if (!clean)
		return log_error_errno(-ENOMEM, "Failed to build the status JSON");
	json_dumpf(clean, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(clean);
	return 0;
}

/* What kairos-recovery.service did this boot (cmd_reset.c writes it beside
 * the boot record); NULL when it did nothing. */
static json_t *read_recovery_outcome(const char *boot_record)
{
	_cleanup_free_ char *copy = strdup(boot_record), *path = NULL;
	if (!copy || asprintf(&path, "%s/recovery.json", dirname(copy)) < 0)
		return NULL;
	json_t *o = json_load_file(path, 0, NULL);
	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* How recovery was reached, the automation's outcome, the loop guard. */
static json_t *recovery_json(const struct state_context *ctx, json_t *outcome)
{
	bool in_recovery = ctx->record.slot == BOOT_SLOT_RECOVERY;
	return json_pack("{s:s?, s:O?, s:i, s:i}", "reached_by", in_recovery ? ctx->record.reason : NULL, "automation",
			 outcome, "auto_resets", (int) ctx->state.auto_resets, "auto_resets_max", RESET_AUTO_MAX);
}

static const char *verity_record_state(const struct slot_verity *v)
{
	switch (v->state) {
	case SLOT_VERITY_SET:
		return "present";
	case SLOT_VERITY_DAMAGED:
		return "damaged";
	case SLOT_VERITY_NONE:
		break;
	}
	return "none";
}

static json_t *slot_json(const struct state_context *ctx, enum boot_slot slot)
{
	const struct slot_state *st = &ctx->state.slots[slot];
	if (!st->image[0])
		return json_null();
	struct image_meta meta;
	bool have_meta = state_dir_read_meta(&ctx->dir, slot, st->image, &meta) == 0;
	/* Not UTF-8 perhaps (a state file): jansson would refuse it. */
	_cleanup_free_ char *reason = st->reason[0] ? sanitize_strdup(st->reason) : NULL;
	json_t *o = json_pack("{s:s, s:s, s:I, s:s?, s:s?, s:I, s:s?}", "image", st->image, "status",
			      slot_status_to_string(st->status), "generation", (json_int_t) st->gen, "source",
			      have_meta ? meta.source : NULL, "installed", have_meta ? meta.installed : NULL, "size",
			      (json_int_t) (have_meta ? meta.size : 0), "reason", reason);
	/* The anti-downgrade rule's facts; age_unknown: it has nothing to compare. */
	const char *created = have_meta ? meta.created : NULL, *version = have_meta ? meta.version : NULL;
	json_object_set_new(o, "created", created ? json_string(created) : json_null());
	json_object_set_new(o, "version", version ? json_string(version) : json_null());
	json_object_set_new(o, "age_unknown", json_boolean(!have_meta || image_meta_age_unknown(&meta)));
	/* Missing in old metadata: unknown. */
	json_object_set_new(o, "received",
			    have_meta && meta.received ? json_integer((json_int_t) meta.received) : json_null());
	/* Layers taken from an installed image instead of downloaded. */
	json_object_set_new(o, "reused", json_integer((json_int_t) (have_meta ? meta.reused : 0)));
	json_object_set_new(o, "reused_from",
			    have_meta && meta.reused_from ? json_string(meta.reused_from) : json_null());
	if (slot == BOOT_SLOT_ACTIVE && st->status == SLOT_STATUS_NEW)
		json_object_set_new(o, "tries_left", json_integer(ctx->state.tries_left));
	/* Missing in old metadata: unsigned, no policy. */
	json_object_set_new(o, "signed_by", have_meta && meta.signed_by ? json_string(meta.signed_by) : json_null());
	json_object_set_new(o, "signature", have_meta && meta.signature ? json_string(meta.signature) : json_null());
	json_object_set_new(o, "policy", have_meta && meta.policy ? json_string(meta.policy) : json_null());
	/* What boot verifies the image against (state.env, committed with the slot). */
	char root[2 * VERITY_DIGEST_SIZE + 1];
	verity_hex(st->verity.root_hash, sizeof(st->verity.root_hash), root);
	json_object_set_new(o, "verity_record", json_string(verity_record_state(&st->verity)));
	json_object_set_new(o, "root_hash", st->verity.state == SLOT_VERITY_SET ? json_string(root) : json_null());
	/* A corrupt recovery image (verify, mark-corrupt): recovery is never bad. */
	struct recovery_corrupt rc;
	if (slot == BOOT_SLOT_RECOVERY && recovery_corrupt_applies(ctx->dir.path, st->image, &rc)) {
		char msg[128];
		recovery_corrupt_message(&rc, msg, sizeof(msg));
		json_object_set_new(
			o, "corrupt",
			json_pack("{s:I, s:s, s:s}", "block", (json_int_t) rc.block, "area", rc.area, "message", msg));
	} else
		json_object_set_new(o, "corrupt", json_null());
	if (have_meta)
		image_meta_done(&meta);
	return o;
}

/* Which kairos-upgrade answered, as --version says. */
static json_t *version_json(void)
{
	return json_pack("{s:s, s:s}", "version", kairos_version, "commit", kairos_commit);
}

/* The signature policy the next upgrade would use: its file, "none", or
 * why it refuses everything. */
struct policy_in_force {
	char *file;
	bool broken;
};

static void policy_in_force_read(const struct state_context *ctx, struct policy_in_force *ret)
{
	_cleanup_(policy_freep) struct policy *p = NULL;
	*ret = (struct policy_in_force){};
	int r = node_policy_load(&(struct node_policy_options){ .sd = &ctx->dir }, &p);
	ret->broken = r < 0;
	ret->file = p ? strdup(p->file) : NULL;
}

static json_t *policy_json(const struct policy_in_force *pf)
{
	return json_pack("{s:s?, s:b}", "file", pf->file, "refuses_everything", pf->broken);
}

static int print_json(const struct state_context *ctx, const struct boot_decision *next, const char *next_why,
		      uint64_t free_bytes, json_t *outcome, const struct policy_in_force *pf)
{
	json_t *slots = json_object();
	for (int i = 0; i < BOOT_SLOT_COUNT; i++)
		json_object_set_new(slots, boot_slot_to_string((enum boot_slot) i), slot_json(ctx, (enum boot_slot) i));
	json_t *o = json_pack("{s:O, s:{s:s, s:s}, s:o, s:i, s:i, s:s?, s:b, s:{s:s, s:I}}", "booted",
			      ctx->record_json ? ctx->record_json : json_null(), "next_boot", "slot",
			      boot_slot_to_string(next->slot), "why", next_why, "slots", slots, "tries_max",
			      (int) ctx->state.tries_max, "tries_left", (int) ctx->state.tries_left, "boot_next",
			      ctx->state.boot_next == BOOT_SLOT_NONE ? NULL : boot_slot_to_string(ctx->state.boot_next),
			      "counter_damaged", ctx->state.counter_damaged, "state", "path", ctx->dir.path,
			      "free_bytes", (json_int_t) free_bytes);
	if (!o)
		return log_error_errno(-ENOMEM, "Failed to build the status JSON");
	json_object_set_new(o, "recovery", recovery_json(ctx, outcome));
	json_object_set_new(o, "kairos_upgrade", version_json());
	json_object_set_new(o, "policy", policy_json(pf));
	int r = print_json_object(o);
	json_decref(o);
	return r;
}

static void print_text(const struct state_context *ctx, const char *next_why, uint64_t free_bytes, json_t *outcome,
		       const struct policy_in_force *pf)
{
	const struct boot_record *rec = &ctx->record;
	if (rec->slot != BOOT_SLOT_NONE) {
		sanitize_print_line(stdout, "Booted:     %s (%s)", boot_slot_to_string(rec->slot),
				    rec->why[0] ? rec->why : rec->reason);
	} else {
		printf("Booted:     unknown (no boot record; not running on an installed node?)\n");
	}
	if (rec->slot == BOOT_SLOT_RECOVERY)
		sanitize_print_line(stdout, "Recovery:   reached by %s",
				    streq(rec->reason, BOOT_RECORD_REASON_FALLBACK)   ? "fallback (both slots unusable)"
				    : streq(rec->reason, BOOT_RECORD_REASON_MENU)     ? "a choice in the GRUB menu"
				    : streq(rec->reason, BOOT_RECORD_REASON_ONE_SHOT) ? "a one-shot choice (boot-next)"
										      : rec->reason);
	if (outcome) {
		const char *action = json_string_value(json_object_get(outcome, "action"));
		const char *why = json_string_value(json_object_get(outcome, "why"));
		sanitize_print_line(stdout, "Automation: %s: %s", action ? action : "?", why ? why : "?");
	}
	if (ctx->state.auto_resets > 0)
		printf("Auto reset: %u of at most %d since an active image was last confirmed\n",
		       ctx->state.auto_resets, RESET_AUTO_MAX);
	printf("Next boot:  %s\n", next_why);
	if (ctx->state.boot_next != BOOT_SLOT_NONE)
		printf("One-shot:   %s (next boot only)\n", boot_slot_to_string(ctx->state.boot_next));
	const char *pstatus = rec->persistent;
	if (pstatus &&
	    (streq(pstatus, BOOT_RECORD_PERSISTENT_MISSING) || streq(pstatus, BOOT_RECORD_PERSISTENT_FAILED) ||
	     streq(pstatus, BOOT_RECORD_PERSISTENT_REFUSED)))
		sanitize_print_line(
			stdout,
			"Warning:    persistent paths are on tmpfs and lost at reboot (persistent partition "
			"%s%s%s)",
			pstatus, rec->persistent_error[0] ? ": " : "", rec->persistent_error);
	/* What booted anyway but needs a person: a refused partition from
	 * another disk, a label found twice. */
	for (size_t i = 0; i < rec->n_warnings; i++)
		printf("Warning:    at boot: %s\n", rec->warnings[i]);
	if (ctx->state.counter_damaged)
		printf("Warning:    the boot counter was damaged and has been reset to defaults\n");
	struct recovery_corrupt rc;
	if (recovery_corrupt_applies(ctx->dir.path, ctx->state.slots[BOOT_SLOT_RECOVERY].image, &rc)) {
		char msg[128];
		recovery_corrupt_message(&rc, msg, sizeof(msg));
		printf("Warning:    %s\n", msg);
	}
	/* The status column is as wide as its longest text ("new, 3/3 tries
	 * left"), so the columns after it line up. */
	char status[BOOT_SLOT_COUNT][48];
	int width = (int) strlen("STATUS");
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		const struct slot_state *st = &ctx->state.slots[i];
		if (!st->image[0])
			snprintf(status[i], sizeof(status[i]), "empty");
		else if (i == BOOT_SLOT_ACTIVE && st->status == SLOT_STATUS_NEW && ctx->state.tries_left == 0)
			/* What the next boot makes of it: it falls back. */
			snprintf(status[i], sizeof(status[i]), "failed, 0/%u tries left", ctx->state.tries_max);
		else if (i == BOOT_SLOT_ACTIVE && st->status == SLOT_STATUS_NEW)
			snprintf(status[i], sizeof(status[i]), "new, %u/%u tries left", ctx->state.tries_left,
				 ctx->state.tries_max);
		else
			snprintf(status[i], sizeof(status[i]), "%s", slot_status_to_string(st->status));
		if ((int) strlen(status[i]) > width)
			width = (int) strlen(status[i]);
	}
	/* VERSION and CREATED as wide as their longest value: image_meta_read()
	 * keeps them short printable ASCII, so their length is their width. */
	struct image_meta meta[BOOT_SLOT_COUNT] = {};
	int vwidth = (int) strlen("VERSION"), cwidth = (int) strlen("CREATED");
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		const struct slot_state *st = &ctx->state.slots[i];
		if (!st->image[0])
			continue;
		(void) state_dir_read_meta(&ctx->dir, (enum boot_slot) i, st->image, &meta[i]);
		if (meta[i].version && (int) strlen(meta[i].version) > vwidth)
			vwidth = (int) strlen(meta[i].version);
		if (meta[i].created && (int) strlen(meta[i].created) > cwidth)
			cwidth = (int) strlen(meta[i].created);
	}
	printf("\n%-9s %-*s %-14s %-10s %-20s %-*s %-*s %s\n", "SLOT", width, "STATUS", "IMAGE", "SIZE", "INSTALLED",
	       vwidth, "VERSION", cwidth, "CREATED", "SOURCE");
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		const struct slot_state *st = &ctx->state.slots[i];
		if (!st->image[0]) {
			printf("%-9s %s\n", boot_slot_to_string((enum boot_slot) i), status[i]);
			continue;
		}
		const struct image_meta *m = &meta[i];
		char size[32];
		format_size(m->size, size, sizeof(size));
		sanitize_print_line(stdout, "%-9s %-*s %.12s   %-10s %-20s %-*s %-*s %s",
				    boot_slot_to_string((enum boot_slot) i), width, status[i], st->image,
				    m->size ? size : "-", m->installed ? m->installed : "-", vwidth,
				    m->version ? m->version : "-", cwidth, m->created ? m->created : "-",
				    m->source ? m->source : "-");
		if (st->reason[0])
			sanitize_print_line(stdout, "%-9s        bad because: %s", "", st->reason);
		if (st->verity.state == SLOT_VERITY_DAMAGED)
			printf("%-9s        WARNING: its verity record in %s is damaged: it cannot boot until it is "
			       "installed again\n",
			       "", BOOT_STATE_FILE);
		else if (st->verity.state == SLOT_VERITY_NONE)
			printf("%-9s        no verity record: booted unverified (installed before images carried a "
			       "hash tree)\n",
			       "");
		if (image_meta_age_unknown(m))
			printf("%-9s        age unknown: no version label or meaningful created time to compare an "
			       "upgrade with (anti-downgrade)\n",
			       "");
		if (m->signed_by)
			sanitize_print_line(stdout, "%-9s        signed by %.16s (%s, policy %s)", "", m->signed_by,
					    m->signature ? m->signature : "?", m->policy ? m->policy : "?");
		else
			sanitize_print_line(stdout, "%-9s        unsigned%s%s", "",
					    m->policy ? ", accepted by policy " : "", m->policy ? m->policy : "");
		if (m->received) { /* 0: older metadata, which did not count them */
			char received[32];
			format_size(m->received, received, sizeof(received));
			printf("%-9s        received %s when pulled\n", "", received);
		}
		if (m->reused && m->reused_from) {
			char reused[32];
			format_size(m->reused, reused, sizeof(reused));
			printf("%-9s        built from image %.12s: %s of its layers not downloaded\n", "",
			       m->reused_from, reused);
		}
		image_meta_done(&meta[i]);
	}
	char free_text[32];
	format_size(free_bytes, free_text, sizeof(free_text));
	putchar('\n');
	sanitize_print_line(stdout, "State:      %s (%s free)", ctx->dir.path, free_text);
	if (pf->broken)
		printf("Policy:     does not parse: every upgrade is refused (see the error above)\n");
	else
		sanitize_print_line(stdout, "Policy:     %s",
				    pf->file ? pf->file : "none (signatures are not checked)");
}

/* A live system (kairos.live=, booted from kairos-build-iso's ISO) has no
 * state partition: say what booted, and how to install it. */
static int print_live(const struct boot_record *rec, json_t *rec_json, bool json)
{
	if (json) {
		json_t *o = json_pack("{s:O, s:n, s:n, s:o}", "booted", rec_json, "next_boot", "slots",
				      "kairos_upgrade", version_json());
		if (!o)
			return log_error_errno(-ENOMEM, "Failed to build the status JSON");
		int r = print_json_object(o);
		json_decref(o);
		return r;
	}
	sanitize_print_line(stdout, "Booted:     live (%s)", rec->why[0] ? rec->why : "from a live medium");
	printf("Installed:  nothing; this image goes onto a disk with\n"
	       "            kairos-install --image /run/kairos/live/kairos/os.squashfs --disk DEVICE\n");
	return 0;
}

int verb_status(int argc, char **argv)
{
	struct state_options o;
	int r = state_options_parse(argc, argv, help_text, true, &o);
	if (r != 0)
		return r < 0 ? r : 0;

	if (!o.state_dir) {
		struct boot_record rec;
		json_t *rec_json = NULL;
		(void) boot_record_read_json(o.boot_record, &rec, &rec_json);
		bool live = streq(rec.reason, BOOT_RECORD_LIVE);
		if (live)
			r = print_live(&rec, rec_json, o.json);
		json_decref(rec_json);
		if (live)
			return r;
	}

	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	r = state_context_open(&ctx, &o, false);
	if (r < 0)
		return r;
	struct boot_decision next;
	boot_state_choose_slot(&ctx.state, &next);
	char why[256];
	boot_decision_describe(&next, why, sizeof(why));
	uint64_t free_bytes = 0;
	(void) state_dir_free_bytes(ctx.dir.path, &free_bytes);

	json_t *outcome = read_recovery_outcome(o.boot_record);
	struct policy_in_force pf;
	policy_in_force_read(&ctx, &pf);
	if (o.json)
		r = print_json(&ctx, &next, why, free_bytes, outcome, &pf);
	else
		print_text(&ctx, why, free_bytes, outcome, &pf);
	json_decref(outcome);
	free(pf.file);
	return r;
}
