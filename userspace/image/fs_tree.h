/* SPDX-License-Identifier: Apache-2.0 */
/* The flattened image as an in-memory tree of metadata only: names, modes,
 * owners, link targets, xattrs. File data never lives here: it goes from the
 * tar stream to the squashfs block processor, which fills in the file's
 * sqfs inode. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <sqfs/predef.h>

struct fs_xattr {
	char *key;
	void *value;
	size_t size;
};

struct fs_inode {
	mode_t mode; /* type and permission bits */
	uint32_t uid, gid, mtime;
	dev_t rdev;
	char *symlink_target;
	struct fs_xattr *xattrs;
	size_t n_xattrs;
	uint32_t nlink; /* tree entries naming this inode; 0 once unreachable */

	/* Regular files. The block processor keeps &sqfs_inode and rewrites it
	 * until it finishes, so inodes are never freed before the tree is, even
	 * when an upper layer removes every name. */
	uint64_t size;
	sqfs_inode_generic_t *sqfs_inode;
	bool data_written;
	bool data_skipped;  /* shadowed per the pre-scan: data not written (yet) */
	bool revive_listed; /* in build_image's list of files to read again */
	bool data_deferred; /* smaller than a block: in the writer's spill file
	                     * (spill_size bytes at spill_offset, zstd) until
	                     * written in tree order */
	uint32_t spill_size;
	uint64_t spill_offset;
	unsigned data_layer;
	uint64_t data_entry_index; /* ordinal of its tar entry in data_layer */
	uint8_t data_sha256[32];   /* of the data written, when the build keeps a layer index */

	/* Filled in while serializing. */
	uint32_t inode_number;
	uint64_t inode_ref;
	bool serialized;

	struct fs_inode *all_next;
};

struct fs_node {
	char *name;
	uint64_t hash; /* of name, for the parent's index */
	struct fs_node *parent;
	size_t slot; /* index in parent->children */
	struct fs_inode *inode;
	unsigned layer;         /* layer that created, replaced or last updated this entry */
	unsigned subtree_layer; /* highest layer of this entry or anything below it */
	unsigned pruned_layer;  /* 1 + the layer whose whiteouts already pruned below this
	                         * directory (0: none): a repeated opaque marker is free */
	bool children_unsorted;
	/* Directories: children in insertion order, sorted by byte order
	 * (strcmp) only by fs_node_sort_children(). Insertion, lookup and
	 * removal are O(1) whatever order names arrive in: a hash index (keyed
	 * at random per process, so names cannot be chosen to collide) once a
	 * directory has more than a few children. */
	struct fs_node **children;
	size_t n_children, n_children_alloc;
	struct fs_node **index;
	size_t index_size; /* 0 or a power of two, at least twice n_children */
};

struct fs_tree {
	struct fs_node *root;
	struct fs_inode *all_inodes;
	uint64_t n_inodes_created;
	uint64_t n_names_created; /* names ever linked: flatten bounds them per image */
};

/* SipHash-2-4 keyed at random once per process: for tables indexed by names
 * from an image, which must not be able to pick names that collide. */
uint64_t fs_hash_bytes(const void *data, size_t len);

int fs_tree_new(struct fs_tree **ret);
void fs_tree_free(struct fs_tree *tree);
static inline void fs_tree_freep(struct fs_tree **t)
{
	if (*t)
		fs_tree_free(*t);
}

/* A new inode owned by the tree, not linked anywhere yet. */
struct fs_inode *fs_inode_new(struct fs_tree *tree, mode_t mode);
void fs_inode_clear_xattrs(struct fs_inode *inode);
int fs_inode_add_xattr(struct fs_inode *inode, const char *key, const void *value, size_t size);

static inline bool fs_node_is_dir(const struct fs_node *n)
{
	return S_ISDIR(n->inode->mode);
}

struct fs_node *fs_node_lookup_child(const struct fs_node *dir, const char *name);
/* Put dir's children in byte order (strcmp), as squashfs wants them. */
void fs_node_sort_children(struct fs_node *dir);
/* Link inode under dir as name (which must not exist yet). */
int fs_node_add_child(struct fs_node *dir, const char *name, struct fs_inode *inode, unsigned layer,
		      struct fs_node **ret);
/* Unlink node and free its subtree (inodes stay owned by the tree). */
void fs_node_remove(struct fs_node *node);
/* Record that layer touched node: sets its layer and the ancestors' subtree_layer. */
void fs_node_touch(struct fs_node *node, unsigned layer);

/* Remove what layers below `layer` contributed to node's subtree, keeping
 * what `layer` itself added (OCI whiteouts and opaque markers act on lower
 * layers only, whatever their order within the layer). Returns true when
 * node itself was removed. */
bool fs_node_prune_lower(struct fs_node *node, unsigned layer);
/* The same for everything below dir (an opaque marker), dir itself kept. */
void fs_node_prune_children_lower(struct fs_node *dir, unsigned layer);

/* Every node in post-order (children before their directory, children in
 * byte order: each directory is sorted on the way). Stops at and returns
 * the first negative return of fn. */
int fs_tree_walk_post_order(struct fs_node *node, int (*fn)(struct fs_node *n, void *userdata), void *userdata);
