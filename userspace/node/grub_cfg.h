/* SPDX-License-Identifier: Apache-2.0 */
/* The boot menu (grub/grub.cfg, built into kairos-upgrade) on the state
 * partition. A node installed by an older release keeps the grub.cfg it was
 * installed with; each image install brings it up to this program's before
 * the commit, so the menu always knows the layout of the images the state
 * names (docs/DESIGN.md, "The kernel beside the image"). */
#pragma once

#include <stddef.h>

/* The grub.cfg this program was built with. */
extern const unsigned char grub_cfg_data[];
extern const size_t grub_cfg_size;

/* Replace STATE/grub/grub.cfg by grub_cfg_data when it differs: temp,
 * fsync, rename, fsync the directory, then the journal checkpoint GRUB
 * needs. A no-op when STATE has no grub/ directory (a --state-dir that is
 * not a state partition). */
int grub_cfg_install(const char *state_path);
