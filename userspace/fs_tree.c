/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_tree.h"
#include "util.h"

struct fs_inode *fs_inode_new(struct fs_tree *tree, mode_t mode)
{
	struct fs_inode *inode = calloc(1, sizeof(*inode));
	if (!inode)
		return NULL;
	inode->mode = mode;
	inode->all_next = tree->all_inodes;
	tree->all_inodes = inode;
	tree->n_inodes_created++;
	return inode;
}

void fs_inode_clear_xattrs(struct fs_inode *inode)
{
	for (size_t i = 0; i < inode->n_xattrs; i++) {
		free(inode->xattrs[i].key);
		free(inode->xattrs[i].value);
	}
	free(inode->xattrs);
	inode->xattrs = NULL;
	inode->n_xattrs = 0;
}

int fs_inode_add_xattr(struct fs_inode *inode, const char *key, const void *value, size_t size)
{
	struct fs_xattr *x = reallocarray(inode->xattrs, inode->n_xattrs + 1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	inode->xattrs = x;
	x = &inode->xattrs[inode->n_xattrs];
	x->key = strdup(key);
	x->value = malloc(size ? size : 1);
	if (!x->key || !x->value) {
		free(x->key);
		free(x->value);
		return -ENOMEM;
	}
	memcpy(x->value, value, size);
	x->size = size;
	inode->n_xattrs++;
	return 0;
}

static void fs_inode_free(struct fs_inode *inode)
{
	fs_inode_clear_xattrs(inode);
	free(inode->symlink_target);
	sqfs_free(inode->sqfs_inode);
	free(inode);
}

static struct fs_node *fs_node_alloc(const char *name, struct fs_inode *inode, unsigned layer)
{
	struct fs_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->inode = inode;
	n->layer = n->subtree_layer = layer;
	inode->nlink++;
	return n;
}

int fs_tree_new(struct fs_tree **ret)
{
	struct fs_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	struct fs_inode *root_inode = fs_inode_new(t, S_IFDIR | 0755);
	if (root_inode)
		t->root = fs_node_alloc("", root_inode, 0);
	if (!t->root) {
		fs_tree_free(t);
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

static void fs_node_free_subtree(struct fs_node *n)
{
	for (size_t i = 0; i < n->n_children; i++)
		fs_node_free_subtree(n->children[i]);
	n->inode->nlink--;
	free(n->children);
	free(n->name);
	free(n);
}

void fs_tree_free(struct fs_tree *tree)
{
	if (tree->root)
		fs_node_free_subtree(tree->root);
	for (struct fs_inode *i = tree->all_inodes, *next; i; i = next) {
		next = i->all_next;
		fs_inode_free(i);
	}
	free(tree);
}

/* Index of name in dir's children, or where it would be inserted. */
static size_t fs_node_child_slot(const struct fs_node *dir, const char *name, bool *found)
{
	size_t lo = 0, hi = dir->n_children;
	*found = false;
	/* Tar streams are usually sorted: check the end first. */
	if (hi > 0 && strcmp(dir->children[hi - 1]->name, name) < 0)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(dir->children[mid]->name, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct fs_node *fs_node_lookup_child(const struct fs_node *dir, const char *name)
{
	bool found;
	size_t i = fs_node_child_slot(dir, name, &found);
	return found ? dir->children[i] : NULL;
}

void fs_node_touch(struct fs_node *node, unsigned layer)
{
	node->layer = layer;
	if (node->subtree_layer < layer)
		node->subtree_layer = layer;
	for (struct fs_node *n = node->parent; n && n->subtree_layer < layer; n = n->parent)
		n->subtree_layer = layer;
}

int fs_node_add_child(struct fs_node *dir, const char *name, struct fs_inode *inode, unsigned layer,
                      struct fs_node **ret)
{
	bool found;
	size_t slot = fs_node_child_slot(dir, name, &found);
	if (found)
		return -EEXIST;
	if (dir->n_children == dir->n_children_alloc) {
		size_t n = dir->n_children_alloc ? dir->n_children_alloc * 2 : 4;
		struct fs_node **c = reallocarray(dir->children, n, sizeof(struct fs_node *));
		if (!c)
			return -ENOMEM;
		dir->children = c;
		dir->n_children_alloc = n;
	}
	struct fs_node *child = fs_node_alloc(name, inode, layer);
	if (!child)
		return -ENOMEM;
	memmove(dir->children + slot + 1, dir->children + slot,
	        (dir->n_children - slot) * sizeof(struct fs_node *));
	dir->children[slot] = child;
	dir->n_children++;
	child->parent = dir;
	fs_node_touch(child, layer);
	if (ret)
		*ret = child;
	return 0;
}

void fs_node_remove(struct fs_node *node)
{
	struct fs_node *dir = node->parent;
	if (dir) {
		bool found;
		size_t slot = fs_node_child_slot(dir, node->name, &found);
		if (found) {
			memmove(dir->children + slot, dir->children + slot + 1,
			        (dir->n_children - slot - 1) * sizeof(struct fs_node *));
			dir->n_children--;
		}
	}
	fs_node_free_subtree(node);
}

bool fs_node_prune_lower(struct fs_node *node, unsigned layer)
{
	if (node->subtree_layer < layer) {
		fs_node_remove(node);
		return true;
	}
	/* This layer put something at or below node: keep node, drop what the
	 * lower layers left below it. A non-directory here is this layer's own. */
	if (fs_node_is_dir(node))
		for (size_t i = node->n_children; i > 0; i--)
			(void) fs_node_prune_lower(node->children[i - 1], layer);
	return false;
}

int fs_tree_walk_post_order(struct fs_node *node, int (*fn)(struct fs_node *n, void *userdata),
                            void *userdata)
{
	for (size_t i = 0; i < node->n_children; i++) {
		int r = fs_tree_walk_post_order(node->children[i], fn, userdata);
		if (r < 0)
			return r;
	}
	return fn(node, userdata);
}
