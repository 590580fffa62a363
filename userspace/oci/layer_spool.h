/* SPDX-License-Identifier: Apache-2.0 */
/* Layers the builder reads twice (the pre-scan of the upper layers, then
 * the build) cross the network once: the first read keeps the stored bytes
 * in an unnamed file on the destination's file system, later reads come
 * from it with their digest checked again on the bytes read back.
 *
 * The file is opened O_TMPFILE (or created and unlinked at once where the
 * file system lacks it): no name to leave behind when the process is
 * killed, and a power cut leaves an orphan inode the file system frees at
 * its next mount. Its space is reserved (fallocate) before the first byte,
 * after a free-space check that names what is needed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image_source.h"
#include "pull_source.h"

struct layer_spool;

/* Keep layers first..m->n_entries-1 of m, read from store, in dir. The
 * descriptors' sizes are charged before anything is written: -ENOSPC
 * (logged, naming dir and the bytes needed) when they do not fit. m and
 * store must outlive the spool. */
int layer_spool_new(const char *dir, const struct manifest *m, size_t first, const struct manifest_store *store,
		    struct layer_spool **ret);
struct layer_spool *layer_spool_free(struct layer_spool *s);
/* The first layer s keeps. */
size_t layer_spool_first(const struct layer_spool *s);

/* Open layer index: NULL *ret_stream with 0 when the spool does not keep
 * it (the caller reads the store). Else a stream of the store teed into
 * the spool on the first read, of the spool (verified) once a read was
 * complete; *ret_kept says the latter: nothing crosses the network. */
int layer_spool_open(struct layer_spool *s, size_t index, struct layer_stream **ret_stream, bool *ret_kept);
