/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* kairos-upgrade pull: argv[0] is "pull". */
int verb_pull(int argc, char **argv);
