/* SPDX-License-Identifier: Apache-2.0 */
/* Apply tar layer entries to an fs_tree with OCI layer semantics
 * (image-spec layer.md): layers bottom-up, whiteouts and opaque markers act
 * on lower layers only, dir over dir merges, other type changes replace,
 * hardlinks bind to the inode present when the link entry is applied. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs_tree.h"

#define FLATTEN_NAME_MAX 255
#define FLATTEN_PATH_MAX 4096
/* Names an image may create (tar entries and the directories their paths
 * imply, replaced ones included: inodes live until the build ends). Each
 * costs ~450 bytes until the image is written (1 M empty files: 453 MiB
 * peak RSS, `make bench`), so the bound is ~0.9 GiB; real images hold a
 * few hundred thousand. */
#define FLATTEN_ENTRIES_MAX (2u * 1024 * 1024)

struct flatten_xattr {
	const char *key;
	const void *value;
	size_t size;
};

/* One tar entry, as read from the layer. */
struct flatten_entry {
	const char *path;
	mode_t mode; /* type and permission bits */
	int64_t uid, gid, mtime;
	dev_t rdev;
	const char *symlink_target;  /* S_IFLNK */
	const char *hardlink_target; /* a hard link to this path (mode is then ignored) */
	uint64_t size;
	const struct flatten_xattr *xattrs;
	size_t n_xattrs;
};

struct flatten_context {
	struct fs_tree *tree;
	unsigned layer;           /* 0 = bottom */
	const char *layer_digest; /* for messages */
	bool warned_xattr;        /* one warning per build for dropped xattrs */
	uint64_t entries_applied;
	uint64_t max_entries; /* names the image may create; 0: FLATTEN_ENTRIES_MAX */
};

/* Normalize a tar path into out: strip "./" and "/" runs, reject absolute
 * paths (-EINVAL), ".." components (-EINVAL), components over 255 bytes
 * (-ENAMETOOLONG) and results that do not fit (-ENAMETOOLONG). The root
 * ("./", ".") normalizes to "". Pure: no globals, no allocation, fuzzable. */
int flatten_normalize_path(const char *path, char *out, size_t out_size);

/* True for the names of whiteout and AUFS metadata entries. */
bool flatten_is_whiteout_name(const char *name);

/* Apply one entry. For a new regular file (not a hard link) *ret_data_inode
 * gets the inode whose data the caller should write next; otherwise NULL.
 * Returns 0, or -EBADMSG for an entry that must be rejected (logged, naming
 * the layer and the entry), -EFBIG past the image's bound on entries
 * (logged), -ENOMEM. */
int flatten_apply_entry(struct flatten_context *ctx, const struct flatten_entry *e, struct fs_inode **ret_data_inode);
