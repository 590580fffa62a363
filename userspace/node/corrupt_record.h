/* SPDX-License-Identifier: Apache-2.0 */
/* A corrupt block found at run time (docs/DESIGN.md, "A corrupt block at
 * run time"): the reason an active or passive slot is committed bad with,
 * and the record of a corrupt recovery image. Recovery is never marked bad
 * (it always boots); its record is a small file on the state partition,
 * written atomically, that names the image it is about, so that it stops
 * applying as soon as another image is the recovery image. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot_state.h"

#define RECOVERY_CORRUPT_FILE "recovery-corrupt.env"
/* A block number as the kernel (dm-verity's uevent) or verify name it: at
 * most the tree of SLOT_VERITY_BLOCKS_MAX data blocks and its own blocks. */
#define CORRUPT_BLOCK_MAX (2 * SLOT_VERITY_BLOCKS_MAX)
#define CORRUPT_AREA_MAX 16

/* Where the bad block is: dm-verity's types (0 data, 1 hash/metadata) and
 * verify's areas ("data", "tree", "superblock", "padding", "end of file").
 * NULL for anything else. */
const char *corrupt_area_from_string(const char *s);

/* Strict decimal: digits only, no sign, no leading zero, at most
 * CORRUPT_BLOCK_MAX. -EINVAL, -ERANGE. */
int corrupt_block_parse(const char *s, uint64_t *ret);

/* "dm-verity: data block N of image ID corrupt", within SLOT_REASON_MAX
 * (the image id shortened to fit). */
void corrupt_reason(char *buf, size_t size, const char *area, uint64_t block, const char *image);

struct recovery_corrupt {
	char image[IMAGE_ID_LEN + 1];
	uint64_t block;
	const char *area; /* one of corrupt_area_from_string()'s constants */
};

/* <dir>/recovery-corrupt.env: temp, fsync, rename, fsync dir. */
int recovery_corrupt_write(const char *dir, const struct recovery_corrupt *rc);
/* text (len bytes, NUL-terminated) as the file holds it: "image=ID",
 * "block=N", "area=AREA" lines, each once at least, nothing else. Strict:
 * -EBADMSG for anything else (a control character, a NUL, a block out of
 * bounds), rc then zeroed. */
int recovery_corrupt_parse(const char *text, size_t len, struct recovery_corrupt *rc);
/* 0, -ENOENT (none), -EBADMSG (damaged: logged, treated as none). */
int recovery_corrupt_read(const char *dir, struct recovery_corrupt *rc);
/* Removes the record (durably); 0 when there was none. */
int recovery_corrupt_clear(const char *dir);
/* Whether dir holds a record for image (the recovery slot's image now). */
bool recovery_corrupt_applies(const char *dir, const char *image, struct recovery_corrupt *rc);
/* "recovery image corrupt: data block N; run upgrade --recovery" */
void recovery_corrupt_message(const struct recovery_corrupt *rc, char *buf, size_t size);
