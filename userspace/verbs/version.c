/* SPDX-License-Identifier: Apache-2.0 */
#include "version.h"

/* Written by userspace.mk into $(BUILD)/gen; linters see the fallback. */
#if __has_include("gen/version.h")
#include "gen/version.h"
#else
#define KAIROS_VERSION "0.0.0"
#define KAIROS_COMMIT "unknown"
#endif

const char kairos_version[] = KAIROS_VERSION;
const char kairos_commit[] = KAIROS_COMMIT;
