/* SPDX-License-Identifier: Apache-2.0 */
/* Random access to the files of an uncompressed tar (docker-archive:,
 * oci-archive:) without extracting it: one pass over the headers builds an
 * index and refuses what a well-formed image archive never holds (names
 * that climb out or are absolute, devices, duplicate names; links are
 * never followed, and reading one is refused); each
 * file is then streamed on demand through its own reader over a shared fd.
 * Standard input ("-") that cannot seek is spooled to an unlinked temp file
 * first, within a size budget. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "blob_sink.h"

/* Entries in one archive; docker save writes a few per layer. */
#define TAR_ARCHIVE_ENTRIES_MAX 65536u
/* What standard input may spool: far above any OS image. */
#define TAR_ARCHIVE_SPOOL_MAX (64ull * 1024 * 1024 * 1024)

struct tar_archive;

/* path "-" is standard input. what names the kind for messages
 * ("docker-archive"). */
int tar_archive_open(const char *path, const char *what, struct tar_archive **ret);
/* As above with an explicit spool budget, for tests. */
int tar_archive_open_budget(const char *path, const char *what, uint64_t spool_max, struct tar_archive **ret);
struct tar_archive *tar_archive_free(struct tar_archive *t);
static inline void tar_archive_freep(struct tar_archive **t)
{
	tar_archive_free(*t);
}

/* "docker-archive /x.tar", for messages. */
const char *tar_archive_name(const struct tar_archive *t);
/* -ENOENT (not logged) when the archive has no file path, -ELOOP when it
 * is a link (never followed). */
int tar_archive_find(const struct tar_archive *t, const char *path, uint64_t *ret_size);
/* The whole of a small file; more than max is refused (-EFBIG, logged). */
int tar_archive_read_small(struct tar_archive *t, const char *path, size_t max, char **ret, size_t *ret_size);
/* Pushes exactly size bytes of path into sink; -EBADMSG if its size differs. */
int tar_archive_produce(struct tar_archive *t, const char *path, uint64_t size, blob_sink_t sink, void *sink_ctx);
