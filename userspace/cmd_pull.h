/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* kairos-upgrade pull: argv[0] is "pull". */
int cmd_pull(int argc, char **argv);
