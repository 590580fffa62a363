/* SPDX-License-Identifier: Apache-2.0 */
/* What kairos-boot recorded about this boot (/run/kairos/boot.json): the
 * slot that booted and why. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "boot_state.h"

struct boot_record {
	enum boot_slot slot; /* BOOT_SLOT_NONE when there is no record */
	char reason[32];     /* "confirmed", "trying", "fallback", "one-shot" */
	char image[IMAGE_ID_LEN + 1];
	char kernel_image[IMAGE_ID_LEN + 1]; /* whose kernel runs (GRUB's kairos.image=); "" if unknown */
	json_t *json; /* the whole record, for status --json */
};

/* A missing record is not an error (a node booted without kairos-boot, or a
 * state directory worked on offline): slot is BOOT_SLOT_NONE. A record that
 * is not valid JSON is reported and treated as missing. */
int boot_record_read(const char *path, struct boot_record *rec);
void boot_record_done(struct boot_record *rec);

/* Booted from passive because active could not boot (not by a person's choice). */
bool boot_record_is_fallback(const struct boot_record *rec);
