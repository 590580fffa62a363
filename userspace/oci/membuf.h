/* SPDX-License-Identifier: Apache-2.0 */
/* A body small enough for memory (a manifest, a token answer, an image
 * config, a file in an archive), grown as bytes arrive: every append is
 * charged to the limit given at creation, so an endless or lying source
 * cannot make it grow past it. */
#pragma once

#include <stddef.h>

struct membuf {
	char *data; /* NUL-terminated; NULL until something was appended */
	size_t size;
	size_t max; /* appends past this many bytes fail with -EFBIG */
	size_t allocated;
};

#define MEMBUF_INIT(limit) ((struct membuf){ .max = (limit) })

/* -EFBIG (nothing appended) past the limit, -ENOMEM. */
int membuf_append(struct membuf *m, const void *data, size_t size);
/* A blob_sink_t: userdata is the struct membuf. */
int membuf_sink(void *userdata, const void *data, size_t size);
/* Drops what was appended (e.g. before a request is retried). */
void membuf_reset(struct membuf *m);
/* The data, "" when empty, handed to the caller (NULL on ENOMEM); m is
 * left empty. */
char *membuf_steal(struct membuf *m, size_t *ret_size);
static inline void membuf_done(struct membuf *m)
{
	membuf_reset(m);
}
