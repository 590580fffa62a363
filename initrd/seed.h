/* SPDX-License-Identifier: Apache-2.0 */
/* Seed a persistent directory from the image the first time it is used. */
#pragma once

/* Copy the tree at src into dst (which must not exist), keeping modes,
 * owners, symlinks, device nodes and file times. The copy is made under a
 * temporary name and renamed into place, so an interrupted first boot
 * leaves either nothing or a complete copy. A missing src gives an empty
 * directory (mode 0755). */
int seed_directory(const char *src, const char *dst);
