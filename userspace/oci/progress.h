/* SPDX-License-Identifier: Apache-2.0 */
/* Pull progress: one self-rewriting line on a terminal, one JSON object per
 * line for machines (--progress=json, on stdout), nothing otherwise.
 * Updates may come from any thread. */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum progress_mode { PROGRESS_AUTO, PROGRESS_NONE, PROGRESS_TTY, PROGRESS_JSON };

struct progress;

/* "auto", "none", "tty", "json". */
int progress_mode_from_string(const char *s, enum progress_mode *ret);

struct progress *progress_new(enum progress_mode mode);
struct progress *progress_free(struct progress *p);

void progress_begin(struct progress *p, const char *image, const char *digest, size_t n_layers, uint64_t total_bytes);
void progress_add_bytes(struct progress *p, uint64_t bytes);
/* The bytes received so far, as a counter elsewhere has them (never less
 * than before). */
void progress_set_bytes(struct progress *p, uint64_t bytes);
/* Counts each layer once, however often it is read. */
void progress_layer_done(struct progress *p, size_t index);
/* The first n_layers layers (bytes stored bytes) come from the installed
 * image from: done, and not to be downloaded. */
void progress_reused(struct progress *p, size_t n_layers, uint64_t bytes, const char *from);
/* Final line; error is a negative errno or 0. */
void progress_end(struct progress *p, int error);
