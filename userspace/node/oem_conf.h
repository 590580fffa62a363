/* SPDX-License-Identifier: Apache-2.0 */
/* kairos.conf (OEM_CONF_FILE) on the OEM partition (COS_OEM), where an
 * installer leaves the node's settings: read from a directory, or from the
 * partition mounted read-only for the read only. */
#pragma once

#include <stddef.h>

#include "cmdline.h"
#include "recovery_policy.h"
#include "state_dir.h"

#define OEM_MOUNT_DIR "/run/kairos/oem"

/* dir's kairos.conf into text (NUL-terminated, at most size - 1 bytes);
 * dir NULL: the partition labelled label on this node's disk (waiting up to
 * wait_ms), mounted on OEM_MOUNT_DIR. A negative errno when there is no
 * such file (a mount failure is logged as a warning). */
int oem_conf_read(const struct state_dir *sd, const char *dir, const char *label, unsigned wait_ms, char *text,
		  size_t size);

/* Runs fn on dir, or (dir NULL) on the partition labelled label mounted
 * read-only on OEM_MOUNT_DIR for the call; fn's result, or a negative
 * errno when there is no such partition. */
int oem_with_dir(const struct state_dir *sd, const char *dir, const char *label, unsigned wait_ms,
		 int (*fn)(const char *dir, void *userdata), void *userdata);

/* The automated recovery policy in force: the kernel command line (c) wins
 * over kairos.conf on COS_OEM (oem_dir instead when given); *source says
 * which ("default" when neither sets it). */
void oem_recovery_policy(const struct state_dir *sd, const char *oem_dir, const struct cmdline *c,
			 enum recovery_policy *policy, const char **source);
