/* SPDX-License-Identifier: Apache-2.0 */
/* Reading what kairos-boot recorded about this boot (lib/boot_record.h:
 * the struct, the keys and the values; the writer). Here, not in lib/,
 * because it takes a whole JSON parser (jansson): the record may come from
 * an older or newer kairos-boot, or a person, with keys in any order or
 * missing, and status --json shows the object as it is. */
#pragma once

#include <jansson.h>

#include "boot_record.h"

/* Every field the writer writes, read back into rec (boot_record_init()
 * first): a string too long for its field is cut, an image id that is not
 * one is dropped, a value the contract does not know is NULL (reason is
 * kept as text). A missing record is not an error (a node booted without
 * kairos-boot, or a state directory worked on offline): slot is
 * BOOT_SLOT_NONE. A record that is not a JSON object is reported and
 * treated as missing. */
int boot_record_read(const char *path, struct boot_record *rec);
/* The same, and *ret_json the whole object as the file has it (for status
 * --json; the caller's reference), NULL without a usable record. */
int boot_record_read_json(const char *path, struct boot_record *rec, json_t **ret_json);
