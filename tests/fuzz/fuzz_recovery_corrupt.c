/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the record of a corrupt recovery image (recovery-corrupt.env on
 * the state partition, a disk) must never crash, and hands out only a valid
 * image id, a block within bounds and a known area, which write back to a
 * record that parses to the same. */
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrupt_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct recovery_corrupt rc;
	if (recovery_corrupt_parse(text, size, &rc) == 0) {
		assert(image_id_is_valid(rc.image));
		assert(rc.block <= CORRUPT_BLOCK_MAX);
		assert(rc.area && corrupt_area_from_string(rc.area) == rc.area);
		char again[256];
		int n = snprintf(again, sizeof(again), "image=%s\nblock=%" PRIu64 "\narea=%s\n", rc.image, rc.block,
				 rc.area);
		struct recovery_corrupt back;
		assert(n > 0 && recovery_corrupt_parse(again, (size_t) n, &back) == 0);
		assert(strcmp(back.image, rc.image) == 0 && back.block == rc.block && back.area == rc.area);
		char reason[SLOT_REASON_MAX];
		corrupt_reason(reason, sizeof(reason), rc.area, rc.block, rc.image);
		assert(strlen(reason) < SLOT_REASON_MAX && strstr(reason, "dm-verity: ") == reason);
	}
	free(text);
	return 0;
}
