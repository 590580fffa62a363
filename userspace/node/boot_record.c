/* SPDX-License-Identifier: Apache-2.0 */
#include "boot_record.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

int boot_record_read(const char *path, struct boot_record *rec)
{
	*rec = (struct boot_record){.slot = BOOT_SLOT_NONE};
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
	const char *slot = json_string_value(json_object_get(root, "slot"));
	const char *reason = json_string_value(json_object_get(root, "reason"));
	const char *image = json_string_value(json_object_get(root, "image"));
	rec->slot = boot_slot_from_string(slot);
	snprintf(rec->reason, sizeof(rec->reason), "%s", reason ? reason : "");
	if (image && image_id_is_valid(image))
		snprintf(rec->image, sizeof(rec->image), "%s", image);
	const char *kernel = json_string_value(json_object_get(root, "kernel_image"));
	if (kernel && image_id_is_valid(kernel))
		snprintf(rec->kernel_image, sizeof(rec->kernel_image), "%s", kernel);
	rec->json = root;
	return 0;
}

void boot_record_done(struct boot_record *rec)
{
	json_decref(rec->json);
	*rec = (struct boot_record){.slot = BOOT_SLOT_NONE};
}

bool boot_record_is_fallback(const struct boot_record *rec)
{
	return rec->slot == BOOT_SLOT_PASSIVE && streq(rec->reason, "fallback");
}
