/* SPDX-License-Identifier: Apache-2.0 */
#include "boot_record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assemble_root.h"
#include "durable.h"
#include "log.h"
#include "sanitize.h"
#include "util.h"

void boot_record_init(struct boot_record *rec)
{
	*rec = (struct boot_record){
		.slot = BOOT_SLOT_NONE,
		.fallback_from = BOOT_SLOT_NONE,
		.start_to_state_ms = -1,
		.start_to_root_ms = -1,
	};
}

int boot_record_add_failure(struct boot_record *rec, enum boot_slot slot, const char *image, const char *error)
{
	if (rec->n_failed == BOOT_RECORD_FAILED_MAX)
		return -E2BIG;
	struct boot_failure *f = &rec->failed[rec->n_failed++];
	f->slot = slot;
	snprintf(f->image, sizeof(f->image), "%s", image ? image : "");
	snprintf(f->error, sizeof(f->error), "%s", error);
	return 0;
}

void boot_record_add_warning(struct boot_record *rec, const char *fmt, ...)
{
	if (rec->n_warnings == ELEMENTSOF(rec->warnings))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rec->warnings[rec->n_warnings++], sizeof(rec->warnings[0]), fmt, ap);
	va_end(ap);
}

const char *boot_reason_to_string(enum boot_reason reason)
{
	switch (reason) {
	case BOOT_REASON_CONFIRMED:
		return "confirmed";
	case BOOT_REASON_TRYING:
		return "trying";
	case BOOT_REASON_FALLBACK:
		return "fallback";
	case BOOT_REASON_ONE_SHOT:
		return "one-shot";
	case BOOT_REASON_MENU:
		return "menu";
	case BOOT_REASON_LAST_RESORT:
		return "last-resort";
	}
	return "unknown";
}

/* Strings here come from disks (labels, state files, errors naming them). */
static void put_string(FILE *f, const char *s) { sanitize_json_string(f, s); }

static void put_key(FILE *f, const char *key, bool first)
{
	if (!first)
		fputc(',', f);
	put_string(f, key);
	fputc(':', f);
}

static const char *slot_or_null(enum boot_slot slot) { return slot == BOOT_SLOT_NONE ? NULL : boot_slot_to_string(slot); }

static void put_mounts(FILE *f, const struct boot_record *rec, enum mount_kind kind)
{
	fputc('[', f);
	bool first = true;
	for (size_t i = 0; rec->plan && i < rec->plan->n; i++) {
		const struct mount_step *step = &rec->plan->steps[i];
		if (step->kind != kind)
			continue;
		enum step_result result = rec->step_results ? rec->step_results[i] : STEP_PENDING;
		fputs(first ? "{" : ",{", f);
		first = false;
		put_key(f, "path", true);
		put_string(f, step->path);
		put_key(f, "status", false);
		put_string(f, result == STEP_MOUNTED  ? "mounted"
			      : result == STEP_SEEDED ? "seeded"
			      : result == STEP_SKIPPED ? "skipped"
						       : "not mounted");
		fputc('}', f);
	}
	fputc(']', f);
}

int boot_record_format(const struct boot_record *rec, char **ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;

	bool booted = rec->slot != BOOT_SLOT_NONE || rec->live;

	fputc('{', f);
	put_key(f, "slot", true);
	put_string(f, rec->live ? "live" : slot_or_null(rec->slot));
	put_key(f, "image", false);
	put_string(f, booted && rec->image[0] ? rec->image : NULL);
	put_key(f, "reason", false);
	put_string(f, rec->live ? "live" : booted ? boot_reason_to_string(rec->decision.reason) : NULL);
	put_key(f, "why", false);
	put_string(f, booted ? rec->why : NULL);
	put_key(f, "tries_left", false);
	if (booted && !rec->live && rec->decision.reason == BOOT_REASON_TRYING)
		fprintf(f, "%u", rec->decision.tries_left);
	else
		fputs("null", f);
	put_key(f, "counted_by", false);
	put_string(f, rec->counted_by);
	put_key(f, "fallback_from", false);
	put_string(f, slot_or_null(rec->fallback_from));
	/* The image GRUB loaded the kernel from (kairos.image=): mark-good does
	 * not confirm a root whose own kernel has not run. */
	put_key(f, "kernel_image", false);
	put_string(f, booted && rec->kernel_image[0] ? rec->kernel_image : NULL);

	put_key(f, "failed", false);
	fputc('[', f);
	for (size_t i = 0; i < rec->n_failed; i++) {
		fputs(i ? ",{" : "{", f);
		put_key(f, "slot", true);
		put_string(f, boot_slot_to_string(rec->failed[i].slot));
		put_key(f, "image", false);
		put_string(f, rec->failed[i].image[0] ? rec->failed[i].image : NULL);
		put_key(f, "error", false);
		put_string(f, rec->failed[i].error);
		fputc('}', f);
	}
	fputc(']', f);

	put_key(f, "state_device", false);
	put_string(f, rec->state_device[0] ? rec->state_device : NULL);
	put_key(f, "persistent", false);
	fputc('{', f);
	put_key(f, "status", true);
	put_string(f, rec->persistent);
	put_key(f, "device", false);
	put_string(f, rec->persistent_device[0] ? rec->persistent_device : NULL);
	put_key(f, "error", false);
	put_string(f, rec->persistent_error[0] ? rec->persistent_error : NULL);
	put_key(f, "binds", false);
	put_mounts(f, rec, MOUNT_BIND);
	fputc('}', f);
	put_key(f, "overlays", false);
	put_mounts(f, rec, MOUNT_OVERLAY);

	put_key(f, "warnings", false);
	fputc('[', f);
	for (size_t i = 0; i < rec->n_warnings; i++) {
		if (i)
			fputc(',', f);
		put_string(f, rec->warnings[i]);
	}
	fputc(']', f);

	put_key(f, "timings_ms", false);
	fputc('{', f);
	put_key(f, "start_to_state", true);
	if (rec->start_to_state_ms >= 0)
		fprintf(f, "%lld", rec->start_to_state_ms);
	else
		fputs("null", f);
	put_key(f, "start_to_root", false);
	if (rec->start_to_root_ms >= 0)
		fprintf(f, "%lld", rec->start_to_root_ms);
	else
		fputs("null", f);
	fputc('}', f);
	put_key(f, "error", false);
	put_string(f, rec->error[0] ? rec->error : NULL);
	fputs("}\n", f);

	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

int boot_record_write(const struct boot_record *rec, const char *path)
{
	_cleanup_free_ char *text = NULL;
	int r = boot_record_format(rec, &text);
	if (r < 0)
		return log_error_errno(r, "Failed to format the boot record: %m");

	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return log_error_errno(-ENOMEM, "Out of memory");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if ((r = mkdir_parents(dir, 0755)) < 0)
			return r;
	}
	r = write_file_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return log_error_errno(r, "Failed to write %s: %m", path);
	return 0;
}
