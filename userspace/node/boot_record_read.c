/* SPDX-License-Identifier: Apache-2.0 */
#include "boot_record_read.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static const char *get_string(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The string at key, cut to size; "" when it is absent, null or not a string. */
static void copy_string(json_t *o, const char *key, char *dst, size_t size)
{
	const char *v = get_string(o, key);
	snprintf(dst, size, "%s", v ? v : "");
}

/* An image id, or "" (the record names files by it). */
static void copy_image(json_t *o, const char *key, char dst[IMAGE_ID_LEN + 1])
{
	const char *v = get_string(o, key);
	snprintf(dst, IMAGE_ID_LEN + 1, "%s", v && image_id_is_valid(v) ? v : "");
}

/* Milliseconds, -1 when not reached (null) or not a count. */
static long long get_ms(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (long long) json_integer_value(v) : -1;
}

static void read_mounts(json_t *array, bool bind, struct boot_record *rec)
{
	size_t i;
	json_t *m;
	json_array_foreach(array, i, m)
	{
		const char *path = get_string(m, BOOT_RECORD_KEY_PATH);
		const char *status = boot_record_mount_status_from_string(get_string(m, BOOT_RECORD_KEY_STATUS));
		if (path && boot_record_add_mount(rec, bind, path, status) < 0)
			break;
	}
}

static void read_fields(json_t *root, struct boot_record *rec)
{
	const char *slot = get_string(root, BOOT_RECORD_KEY_SLOT);
	rec->live = slot && streq(slot, BOOT_RECORD_LIVE);
	rec->slot = boot_slot_from_string(slot);
	copy_image(root, BOOT_RECORD_KEY_IMAGE, rec->image);

	copy_string(root, BOOT_RECORD_KEY_REASON, rec->reason, sizeof(rec->reason));
	rec->decision.slot = rec->slot;
	(void) boot_reason_from_string(rec->reason, &rec->decision.reason);
	json_t *tries = json_object_get(root, BOOT_RECORD_KEY_TRIES_LEFT);
	if (json_is_integer(tries) && json_integer_value(tries) >= 0 && json_integer_value(tries) <= UINT_MAX)
		rec->decision.tries_left = (unsigned) json_integer_value(tries);
	copy_string(root, BOOT_RECORD_KEY_WHY, rec->why, sizeof(rec->why));
	rec->counted_by = boot_record_counted_by_from_string(get_string(root, BOOT_RECORD_KEY_COUNTED_BY));
	rec->fallback_from = boot_slot_from_string(get_string(root, BOOT_RECORD_KEY_FALLBACK_FROM));
	copy_image(root, BOOT_RECORD_KEY_KERNEL_IMAGE, rec->kernel_image);
	copy_string(root, BOOT_RECORD_KEY_VERITY, rec->verity, sizeof(rec->verity));

	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(root, BOOT_RECORD_KEY_FAILED), i, item)
	{
		const char *error = get_string(item, BOOT_RECORD_KEY_ERROR);
		char image[IMAGE_ID_LEN + 1];
		copy_image(item, BOOT_RECORD_KEY_IMAGE, image);
		if (boot_record_add_failure(rec, boot_slot_from_string(get_string(item, BOOT_RECORD_KEY_SLOT)), image,
					    error ? error : "") < 0)
			break;
	}

	copy_string(root, BOOT_RECORD_KEY_STATE_DEVICE, rec->state_device, sizeof(rec->state_device));
	json_t *persistent = json_object_get(root, BOOT_RECORD_KEY_PERSISTENT);
	rec->persistent = boot_record_persistent_from_string(get_string(persistent, BOOT_RECORD_KEY_STATUS));
	copy_string(persistent, BOOT_RECORD_KEY_DEVICE, rec->persistent_device, sizeof(rec->persistent_device));
	copy_string(persistent, BOOT_RECORD_KEY_ERROR, rec->persistent_error, sizeof(rec->persistent_error));
	read_mounts(json_object_get(persistent, BOOT_RECORD_KEY_BINDS), true, rec);
	read_mounts(json_object_get(root, BOOT_RECORD_KEY_OVERLAYS), false, rec);

	json_array_foreach(json_object_get(root, BOOT_RECORD_KEY_WARNINGS), i, item) if (json_is_string(item))
		boot_record_add_warning(rec, "%s", json_string_value(item));

	json_t *timings = json_object_get(root, BOOT_RECORD_KEY_TIMINGS);
	rec->start_to_state_ms = get_ms(timings, BOOT_RECORD_KEY_START_TO_STATE);
	rec->start_to_root_ms = get_ms(timings, BOOT_RECORD_KEY_START_TO_ROOT);
	copy_string(root, BOOT_RECORD_KEY_ERROR, rec->error, sizeof(rec->error));
}

int boot_record_read_json(const char *path, struct boot_record *rec, json_t **ret_json)
{
	boot_record_init(rec);
	if (ret_json)
		*ret_json = NULL;
	json_error_t err;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		if (err.line == -1 && access(path, F_OK) < 0)
			return 0; /* no record */
		log_warning("Ignoring boot record %s: %s (line %d)", path, err.text, err.line);
		return 0;
	}
	if (!json_is_object(root)) {
		log_warning("Ignoring boot record %s: not a JSON object", path);
		json_decref(root);
		return 0;
	}
	read_fields(root, rec);
	if (ret_json)
		*ret_json = root;
	else
		json_decref(root);
	return 0;
}

int boot_record_read(const char *path, struct boot_record *rec)
{
	return boot_record_read_json(path, rec, NULL);
}
