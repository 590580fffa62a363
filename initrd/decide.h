/* SPDX-License-Identifier: Apache-2.0 */
/* The boot decision as the helper takes it: lib/boot_state's rules, or
 * GRUB's choice when GRUB already decided and counted (kairos.counted=1). */
#pragma once

#include <stddef.h>

#include "boot_options.h"
#include "boot_state.h"

/* Pure. why gets one line for the log and the record. With o->counted the
 * decision is o->grub_slot and spends nothing (GRUB did, before we read the
 * files: so the state may already show the try gone). */
void boot_decide(const struct boot_state *s, const struct boot_options *o, struct boot_decision *d, char *why,
		 size_t size);
