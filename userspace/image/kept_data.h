/* SPDX-License-Identifier: Apache-2.0 */
/* The data of files the pre-scan says an upper layer hides, kept while the
 * image is built: a hard link later in the layer may keep such a file
 * after all, and reading the layer again for it would download the layer
 * again. Kept in an unnamed file on the output's file system (nothing to
 * clean after a kill or a power cut), within a budget (at most
 * KEPT_DATA_MAX and half the free space the image leaves): past it, or when the disk fills,
 * files are no longer kept and such a file costs a read of its layer, as
 * before. Read back checked against the sha256 taken while keeping. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fs_tree.h"
#include "layer_reader.h"

#define KEPT_DATA_MAX (256ull * 1024 * 1024)

struct kept_data;

/* reserve: bytes of dir's free space left alone (for the image being
 * built). 0, or a negative errno (logged) when dir cannot hold a temporary
 * file. */
int kept_data_new(const char *dir, uint64_t reserve, struct kept_data **ret);
void kept_data_free(struct kept_data *k);

/* The current entry's data (inode's), read through read(ctx) to its end;
 * kept if the budget allows (0 either way), a negative errno for a read
 * failure. */
int kept_data_save(struct kept_data *k, data_piece_fn *read, void *ctx, struct fs_inode *inode);

/* Whether every one of inodes[0..n) (in the order they were saved) is
 * kept. */
bool kept_data_has_all(struct kept_data *k, struct fs_inode *const *inodes, size_t n);

/* Read inode's kept data back: kept_data_open(), then pieces as
 * layer_reader_read_data() gives them (1 with a piece, 0 at the end, which
 * checks the sha256: -EBADMSG, logged, when it does not read back as it
 * was kept; a negative errno for a read failure). */
int kept_data_open(struct kept_data *k, const struct fs_inode *inode);
int kept_data_read_piece(void *k, const void **buf, size_t *size, int64_t *offset);
