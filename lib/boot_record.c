/* SPDX-License-Identifier: Apache-2.0 */
#include "boot_record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int boot_record_add_mount(struct boot_record *rec, bool bind, const char *path, const char *status)
{
	if (rec->n_mounts == BOOT_RECORD_MOUNTS_MAX)
		return -E2BIG;
	struct boot_record_mount *m = &rec->mounts[rec->n_mounts++];
	m->bind = bind;
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->status = status;
	return 0;
}

static const char *const boot_reason_names[] = {
	[BOOT_REASON_CONFIRMED] = BOOT_RECORD_REASON_CONFIRMED,
	[BOOT_REASON_TRYING] = BOOT_RECORD_REASON_TRYING,
	[BOOT_REASON_FALLBACK] = BOOT_RECORD_REASON_FALLBACK,
	[BOOT_REASON_ONE_SHOT] = BOOT_RECORD_REASON_ONE_SHOT,
	[BOOT_REASON_MENU] = BOOT_RECORD_REASON_MENU,
	[BOOT_REASON_LAST_RESORT] = BOOT_RECORD_REASON_LAST_RESORT,
};

const char *boot_reason_to_string(enum boot_reason reason)
{
	if ((size_t) reason < ELEMENTSOF(boot_reason_names) && boot_reason_names[reason])
		return boot_reason_names[reason];
	return "unknown";
}

int boot_reason_from_string(const char *s, enum boot_reason *ret)
{
	for (size_t i = 0; s && i < ELEMENTSOF(boot_reason_names); i++)
		if (boot_reason_names[i] && streq(s, boot_reason_names[i])) {
			*ret = (enum boot_reason) i;
			return 0;
		}
	return -EINVAL;
}

const char *boot_record_reason(const struct boot_record *rec)
{
	if (rec->live)
		return BOOT_RECORD_LIVE;
	return rec->slot != BOOT_SLOT_NONE ? boot_reason_to_string(rec->decision.reason) : NULL;
}

/* s as the one of names[] it equals (static storage), NULL if none. */
static const char *lookup(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (streq(s, names[i]))
			return names[i];
	return NULL;
}

const char *boot_record_counted_by_from_string(const char *s)
{
	static const char *const names[] = { BOOT_RECORD_COUNTED_BY_GRUB, BOOT_RECORD_COUNTED_BY_HELPER };
	return lookup(s, names, ELEMENTSOF(names));
}

const char *boot_record_persistent_from_string(const char *s)
{
	static const char *const names[] = { BOOT_RECORD_PERSISTENT_MOUNTED, BOOT_RECORD_PERSISTENT_MISSING,
					     BOOT_RECORD_PERSISTENT_FAILED, BOOT_RECORD_PERSISTENT_REFUSED,
					     BOOT_RECORD_PERSISTENT_NOT_USED };
	return lookup(s, names, ELEMENTSOF(names));
}

const char *boot_record_mount_status_from_string(const char *s)
{
	static const char *const names[] = { BOOT_RECORD_MOUNT_MOUNTED, BOOT_RECORD_MOUNT_SEEDED,
					     BOOT_RECORD_MOUNT_SKIPPED, BOOT_RECORD_MOUNT_NOT_MOUNTED };
	return lookup(s, names, ELEMENTSOF(names));
}

bool boot_record_is_fallback(const struct boot_record *rec)
{
	return rec->slot == BOOT_SLOT_PASSIVE && streq(rec->reason, BOOT_RECORD_REASON_FALLBACK);
}

/* Strings here come from disks (labels, state files, errors naming them). */
static void put_string(FILE *f, const char *s)
{
	sanitize_json_string(f, s);
}

static void put_key(FILE *f, const char *key, bool first)
{
	if (!first)
		fputc(',', f);
	put_string(f, key);
	fputc(':', f);
}

static const char *slot_or_null(enum boot_slot slot)
{
	return slot == BOOT_SLOT_NONE ? NULL : boot_slot_to_string(slot);
}

static void put_mounts(FILE *f, const struct boot_record *rec, bool bind)
{
	fputc('[', f);
	bool first = true;
	for (size_t i = 0; i < rec->n_mounts; i++) {
		const struct boot_record_mount *m = &rec->mounts[i];
		if (m->bind != bind)
			continue;
		fputs(first ? "{" : ",{", f);
		first = false;
		put_key(f, BOOT_RECORD_KEY_PATH, true);
		put_string(f, m->path);
		put_key(f, BOOT_RECORD_KEY_STATUS, false);
		put_string(f, m->status ? m->status : BOOT_RECORD_MOUNT_NOT_MOUNTED);
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
	put_key(f, BOOT_RECORD_KEY_SLOT, true);
	put_string(f, rec->live ? BOOT_RECORD_LIVE : slot_or_null(rec->slot));
	put_key(f, BOOT_RECORD_KEY_IMAGE, false);
	put_string(f, booted && rec->image[0] ? rec->image : NULL);
	put_key(f, BOOT_RECORD_KEY_REASON, false);
	put_string(f, boot_record_reason(rec));
	put_key(f, BOOT_RECORD_KEY_WHY, false);
	put_string(f, booted ? rec->why : NULL);
	put_key(f, BOOT_RECORD_KEY_TRIES_LEFT, false);
	if (booted && !rec->live && rec->decision.reason == BOOT_REASON_TRYING)
		fprintf(f, "%u", rec->decision.tries_left);
	else
		fputs("null", f);
	put_key(f, BOOT_RECORD_KEY_COUNTED_BY, false);
	put_string(f, rec->counted_by);
	put_key(f, BOOT_RECORD_KEY_FALLBACK_FROM, false);
	put_string(f, slot_or_null(rec->fallback_from));
	/* The image GRUB loaded the kernel from (kairos.image=): mark-good does
	 * not confirm a root whose own kernel has not run. */
	put_key(f, BOOT_RECORD_KEY_KERNEL_IMAGE, false);
	put_string(f, booted && rec->kernel_image[0] ? rec->kernel_image : NULL);
	put_key(f, BOOT_RECORD_KEY_VERITY, false);
	put_string(f, booted && rec->verity[0] ? rec->verity : NULL);

	put_key(f, BOOT_RECORD_KEY_FAILED, false);
	fputc('[', f);
	for (size_t i = 0; i < rec->n_failed; i++) {
		fputs(i ? ",{" : "{", f);
		put_key(f, BOOT_RECORD_KEY_SLOT, true);
		put_string(f, boot_slot_to_string(rec->failed[i].slot));
		put_key(f, BOOT_RECORD_KEY_IMAGE, false);
		put_string(f, rec->failed[i].image[0] ? rec->failed[i].image : NULL);
		put_key(f, BOOT_RECORD_KEY_ERROR, false);
		put_string(f, rec->failed[i].error);
		fputc('}', f);
	}
	fputc(']', f);

	put_key(f, BOOT_RECORD_KEY_STATE_DEVICE, false);
	put_string(f, rec->state_device[0] ? rec->state_device : NULL);
	put_key(f, BOOT_RECORD_KEY_PERSISTENT, false);
	fputc('{', f);
	put_key(f, BOOT_RECORD_KEY_STATUS, true);
	put_string(f, rec->persistent);
	put_key(f, BOOT_RECORD_KEY_DEVICE, false);
	put_string(f, rec->persistent_device[0] ? rec->persistent_device : NULL);
	put_key(f, BOOT_RECORD_KEY_ERROR, false);
	put_string(f, rec->persistent_error[0] ? rec->persistent_error : NULL);
	put_key(f, BOOT_RECORD_KEY_BINDS, false);
	put_mounts(f, rec, true);
	fputc('}', f);
	put_key(f, BOOT_RECORD_KEY_OVERLAYS, false);
	put_mounts(f, rec, false);

	put_key(f, BOOT_RECORD_KEY_WARNINGS, false);
	fputc('[', f);
	for (size_t i = 0; i < rec->n_warnings; i++) {
		if (i)
			fputc(',', f);
		put_string(f, rec->warnings[i]);
	}
	fputc(']', f);

	put_key(f, BOOT_RECORD_KEY_TIMINGS, false);
	fputc('{', f);
	put_key(f, BOOT_RECORD_KEY_START_TO_STATE, true);
	if (rec->start_to_state_ms >= 0)
		fprintf(f, "%lld", rec->start_to_state_ms);
	else
		fputs("null", f);
	put_key(f, BOOT_RECORD_KEY_START_TO_ROOT, false);
	if (rec->start_to_root_ms >= 0)
		fprintf(f, "%lld", rec->start_to_root_ms);
	else
		fputs("null", f);
	fputc('}', f);
	put_key(f, BOOT_RECORD_KEY_ERROR, false);
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
