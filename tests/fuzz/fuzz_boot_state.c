/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the boot state as read from disk. The input's first 1024 bytes
 * are state.env, the rest counter.env. Whatever loads must decide a slot,
 * and must survive a save/load round trip unchanged. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot_state.h"
#include "durable.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/dev/shm/fuzz-boot-state-XXXXXX";

static void put(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (write_file_atomic(path, data, size, 0644) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		log_set_max_level(LOG_LEVEL_ERROR - 1); /* quiet: damage is the normal case here */
		if (!mkdtemp(dir))
			abort();
		ready = true;
	}
	size_t state_size = size < 1024 ? size : 1024;
	put(BOOT_STATE_FILE, data, state_size);
	put(BOOT_COUNTER_FILE, data + state_size, size - state_size);

	struct boot_state s, again;
	if (boot_state_load(dir, &s) < 0)
		return 0;
	struct boot_decision d;
	boot_state_choose_slot(&s, &d);
	assert(d.slot >= 0 && d.slot < BOOT_SLOT_COUNT);
	char why[256];
	boot_decision_describe(&d, why, sizeof(why));

	/* Round trip: what we write reads back as the same state. */
	assert(boot_state_save(dir, &s) == 0);
	assert(boot_state_save_counter(dir, &s) == 0);
	assert(boot_state_load(dir, &again) == 0);
	/* The reasons may have been cut to fit 1024 bytes; nothing else. */
	for (int i = 0; i < BOOT_SLOT_COUNT; i++) {
		size_t kept = strlen(again.slots[i].reason);
		assert(strncmp(s.slots[i].reason, again.slots[i].reason, kept) == 0);
		memcpy(again.slots[i].reason, s.slots[i].reason, sizeof(s.slots[i].reason));
	}
	assert(memcmp(s.slots, again.slots, sizeof(s.slots)) == 0);
	assert(s.tries_max == again.tries_max && s.gen == again.gen && s.boot_next == again.boot_next);
	assert(s.tries_left == again.tries_left || s.slots[BOOT_SLOT_ACTIVE].status != SLOT_STATUS_NEW ||
	       s.counter_damaged);
	/* The confirmed active's count is written resolved: it reads back the
	 * same, armed or not (unarmed is written empty, never armed by it). */
	assert(s.unconfirmed == again.unconfirmed && s.unconfirmed_armed == again.unconfirmed_armed);
	return 0;
}
