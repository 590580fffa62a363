/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs_tree.h"
#include "util.h"

/* SipHash-2-4 of the names, keyed at random once per process: a hostile
 * tar cannot pick names that all land in one bucket. */
static uint64_t hash_key[2];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
	if (getrandom(hash_key, sizeof(hash_key), GRND_NONBLOCK) != (ssize_t) sizeof(hash_key)) {
		/* no entropy yet (early boot): still unpredictable enough from outside */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		hash_key[0] = (uint64_t) ts.tv_nsec ^ ((uint64_t) ts.tv_sec << 30) ^ (uintptr_t) &ts;
		hash_key[1] = ((uint64_t) getpid() << 32) ^ (uintptr_t) hash_key ^ (uint64_t) clock();
	}
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

uint64_t fs_hash_bytes(const void *data, size_t len)
{
	pthread_once(&hash_key_once, hash_key_init);
	uint64_t v0 = 0x736f6d6570736575ull ^ hash_key[0], v1 = 0x646f72616e646f6dull ^ hash_key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ hash_key[0], v3 = 0x7465646279746573ull ^ hash_key[1];
	size_t left = len;
	const uint8_t *p = data;

	for (; left >= 8; p += 8, left -= 8) {
		uint64_t m = 0;
		for (unsigned i = 0; i < 8; i++)
			m |= (uint64_t) p[i] << (8 * i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t) len << 56;
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t) p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t name_hash(const char *name)
{
	return fs_hash_bytes(name, strlen(name));
}

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
	n->hash = name_hash(name);
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
	free(n->index);
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

/* Small directories (most of them) are searched linearly, without an index. */
#define INDEX_MIN_CHILDREN 16

static void index_put(struct fs_node **index, size_t size, struct fs_node *n)
{
	size_t mask = size - 1;
	size_t i = (size_t) n->hash & mask;
	while (index[i])
		i = (i + 1) & mask;
	index[i] = n;
}

/* Rebuild the index at twice the size the children need (load <= 1/2). */
static int index_rebuild(struct fs_node *dir)
{
	size_t size = 2 * INDEX_MIN_CHILDREN;
	while (size < 2 * dir->n_children)
		size *= 2;
	struct fs_node **index = calloc(size, sizeof(struct fs_node *));
	if (!index)
		return -ENOMEM;
	for (size_t i = 0; i < dir->n_children; i++)
		index_put(index, size, dir->children[i]);
	free(dir->index);
	dir->index = index;
	dir->index_size = size;
	return 0;
}

/* Linear probing, deletion by shifting back the entries after it. */
static void index_delete(struct fs_node *dir, const struct fs_node *n)
{
	size_t mask = dir->index_size - 1;
	size_t i = (size_t) n->hash & mask;
	while (dir->index[i] != n)
		i = (i + 1) & mask;
	for (size_t j = (i + 1) & mask; dir->index[j]; j = (j + 1) & mask) {
		size_t home = (size_t) dir->index[j]->hash & mask;
		/* dir->index[j] stays unless its home lies outside (i, j] */
		bool stays = i < j ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			dir->index[i] = dir->index[j];
			i = j;
		}
	}
	dir->index[i] = NULL;
}

struct fs_node *fs_node_lookup_child(const struct fs_node *dir, const char *name)
{
	/* Tar streams are usually sorted: a name after the last is new. */
	if (!dir->children_unsorted && dir->n_children > 0 &&
	    strcmp(dir->children[dir->n_children - 1]->name, name) < 0)
		return NULL;
	if (!dir->index) {
		for (size_t i = 0; i < dir->n_children; i++)
			if (streq(dir->children[i]->name, name))
				return dir->children[i];
		return NULL;
	}
	uint64_t h = name_hash(name);
	size_t mask = dir->index_size - 1;
	for (size_t i = (size_t) h & mask; dir->index[i]; i = (i + 1) & mask)
		if (dir->index[i]->hash == h && streq(dir->index[i]->name, name))
			return dir->index[i];
	return NULL;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp((*(struct fs_node *const *) a)->name, (*(struct fs_node *const *) b)->name);
}

void fs_node_sort_children(struct fs_node *dir)
{
	if (!dir->children_unsorted)
		return;
	qsort(dir->children, dir->n_children, sizeof(struct fs_node *), compare_names);
	for (size_t i = 0; i < dir->n_children; i++)
		dir->children[i]->slot = i;
	dir->children_unsorted = false;
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
	if (fs_node_lookup_child(dir, name))
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
	if (dir->n_children > 0 && strcmp(dir->children[dir->n_children - 1]->name, name) > 0)
		dir->children_unsorted = true;
	child->slot = dir->n_children;
	dir->children[dir->n_children++] = child;
	child->parent = dir;
	if (dir->index && 2 * dir->n_children <= dir->index_size)
		index_put(dir->index, dir->index_size, child);
	else if (dir->n_children >= INDEX_MIN_CHILDREN && index_rebuild(dir) < 0) {
		dir->n_children--;
		fs_node_free_subtree(child);
		return -ENOMEM;
	}
	fs_node_touch(child, layer);
	if (ret)
		*ret = child;
	return 0;
}

void fs_node_remove(struct fs_node *node)
{
	struct fs_node *dir = node->parent;
	if (dir) {
		if (dir->index)
			index_delete(dir, node);
		/* the last child takes its place: O(1), the order is restored by sorting */
		size_t last = dir->n_children - 1;
		if (node->slot != last) {
			dir->children[node->slot] = dir->children[last];
			dir->children[node->slot]->slot = node->slot;
			dir->children_unsorted = true;
		}
		dir->n_children--;
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
		fs_node_prune_children_lower(node, layer);
	return false;
}

void fs_node_prune_children_lower(struct fs_node *dir, unsigned layer)
{
	/* Done already in this layer: what is below now is this layer's own
	 * (it adds nothing of lower layers), so a repeated marker costs O(1). */
	if (dir->pruned_layer == layer + 1)
		return;
	/* Backwards: a removal moves the last child, already seen, into its slot. */
	for (size_t i = dir->n_children; i > 0; i--)
		(void) fs_node_prune_lower(dir->children[i - 1], layer);
	dir->pruned_layer = layer + 1;
}

int fs_tree_walk_post_order(struct fs_node *node, int (*fn)(struct fs_node *n, void *userdata), void *userdata)
{
	fs_node_sort_children(node);
	for (size_t i = 0; i < node->n_children; i++) {
		int r = fs_tree_walk_post_order(node->children[i], fn, userdata);
		if (r < 0)
			return r;
	}
	return fn(node, userdata);
}
