/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* kairos-upgrade build-iso: argv[0] is "build-iso"; runs scripts/kairos-build-iso. */
int verb_build_iso(int argc, char **argv);
