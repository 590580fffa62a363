/* SPDX-License-Identifier: Apache-2.0 */
/* The callback every blob producer (registry, OCI layout, image archive)
 * pushes bytes into: its own header so sources need not include each other. */
#pragma once

#include <stddef.h>

/* Receives verified-so-far bytes of a blob; a negative return aborts. */
typedef int (*blob_sink_t)(void *userdata, const void *data, size_t size);
