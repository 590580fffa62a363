/* SPDX-License-Identifier: Apache-2.0 */
/* What this build is: the release version and the git commit it was built
 * from ("unknown" outside a git checkout), for --version and status --json. */
#pragma once

extern const char kairos_version[];
extern const char kairos_commit[];
