/* SPDX-License-Identifier: Apache-2.0 */
/* Upgrade hooks: executables in HOOKS_DIR/{before,after}-upgrade.d/, run in
 * name order. A failing before-hook aborts the upgrade before anything is
 * changed; a failing after-hook is reported (the upgrade is already done). */
#pragma once

#define HOOKS_DIR_DEFAULT "/etc/kairos/hooks"

/* Run every hook of phase ("before-upgrade" or "after-upgrade") with the
 * given environment additions ("KEY=VALUE", NULL-terminated). Returns 0, or
 * a negative errno naming the first hook that failed (logged). */
int hooks_run(const char *hooks_dir, const char *phase, char *const env[]);
