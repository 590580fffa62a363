/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "flatten.h"
#include "log.h"
#include "util.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

int flatten_normalize_path(const char *path, char *out, size_t out_size)
{
	size_t len = 0;
	const char *p = path;

	if (out_size == 0)
		return -ENAMETOOLONG;
	if (*p == '/')
		return -EINVAL;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t n = (size_t) (end - p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* empty or "." component: nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			return -EINVAL;
		} else if (n > FLATTEN_NAME_MAX) {
			return -ENAMETOOLONG;
		} else {
			size_t need = (len > 0 ? 1 : 0) + n;
			if (len + need + 1 > out_size)
				return -ENAMETOOLONG;
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p = *end ? end + 1 : end;
	}
	out[len] = '\0';
	return 0;
}

bool flatten_is_whiteout_name(const char *name)
{
	return strncmp(name, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0;
}

static uint32_t clamp_u32(int64_t v)
{
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
}

/* squashfs can only store xattrs in the user, trusted and security namespaces. */
static bool xattr_fits_squashfs(const char *key)
{
	return strncmp(key, "user.", 5) == 0 || strncmp(key, "trusted.", 8) == 0 || strncmp(key, "security.", 9) == 0;
}

static int set_attributes(struct flatten_context *ctx, struct fs_inode *inode, const struct flatten_entry *e,
			  const char *path)
{
	inode->mode = e->mode;
	inode->uid = (uint32_t) e->uid;
	inode->gid = (uint32_t) e->gid;
	inode->mtime = clamp_u32(e->mtime);
	fs_inode_clear_xattrs(inode);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		const struct flatten_xattr *x = &e->xattrs[i];
		if (!xattr_fits_squashfs(x->key)) {
			if (!ctx->warned_xattr)
				log_warning("Layer %s: dropping xattr %s of %s (squashfs stores only "
					    "user., trusted. and security. xattrs; further ones dropped "
					    "silently)",
					    ctx->layer_digest, x->key, path);
			ctx->warned_xattr = true;
			continue;
		}
		int r = fs_inode_add_xattr(inode, x->key, x->value, x->size);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Link a new name, within the image's bound on names: each costs memory
 * until the build ends, and one tar entry may imply many directories. */
static int add_name(struct flatten_context *ctx, struct fs_node *dir, const char *name, struct fs_inode *inode,
		    struct fs_node **ret)
{
	uint64_t max = ctx->max_entries ? ctx->max_entries : FLATTEN_ENTRIES_MAX;
	if (ctx->tree->n_names_created >= max)
		return log_error_errno(-EFBIG,
				       "Layer %s: the image has over %" PRIu64 " entries (tar entries and "
				       "the directories their paths imply): refusing it",
				       ctx->layer_digest, max);
	int r = fs_node_add_child(dir, name, inode, ctx->layer, ret);
	if (r >= 0)
		ctx->tree->n_names_created++;
	return r;
}

/* Walk to the directory that holds path's last component, creating missing
 * directories when create is set (a layer may omit parents); otherwise a
 * missing one gives *ret_dir = NULL. Components must be directories: a
 * symlink on the way would place the entry outside the root, a file makes
 * the tar unusable. On success *ret_name points into path. */
static int resolve_parent(struct flatten_context *ctx, char *path, const char *what, bool create,
			  struct fs_node **ret_dir, const char **ret_name)
{
	struct fs_node *dir = ctx->tree->root;
	char *p = path;

	for (;;) {
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		struct fs_node *child = fs_node_lookup_child(dir, p);
		if (!child && !create) {
			*slash = '/';
			*ret_dir = NULL;
			*ret_name = NULL;
			return 0;
		}
		if (!child) {
			struct fs_inode *inode = fs_inode_new(ctx->tree, S_IFDIR | 0755);
			if (!inode)
				return -ENOMEM;
			int r = add_name(ctx, dir, p, inode, &child);
			if (r < 0)
				return r;
		} else if (S_ISLNK(child->inode->mode)) {
			*slash = '/';
			return log_error_errno(-EBADMSG,
					       "Layer %s: %s '%s' goes through the symlink '%.*s': "
					       "refusing to place it outside the root",
					       ctx->layer_digest, what, path, (int) (slash - path), path);
		} else if (!fs_node_is_dir(child)) {
			*slash = '/';
			return log_error_errno(-EBADMSG,
					       "Layer %s: %s '%s' goes through '%.*s', which is not a "
					       "directory",
					       ctx->layer_digest, what, path, (int) (slash - path), path);
		}
		*slash = '/';
		dir = child;
		p = slash + 1;
	}
	*ret_dir = dir;
	*ret_name = p;
	return 0;
}

static int lookup_hardlink_target(struct flatten_context *ctx, const struct flatten_entry *e, struct fs_inode **ret)
{
	char target[FLATTEN_PATH_MAX];
	int r = flatten_normalize_path(e->hardlink_target, target, sizeof(target));
	if (r < 0 || target[0] == '\0')
		return log_error_errno(-EBADMSG, "Layer %s: hard link '%s' points to '%s', outside the root",
				       ctx->layer_digest, e->path, e->hardlink_target);

	struct fs_node *dir = NULL;
	const char *name = NULL;
	r = resolve_parent(ctx, target, "hard link target", false, &dir, &name);
	if (r < 0)
		return r;
	struct fs_node *n = dir ? fs_node_lookup_child(dir, name) : NULL;
	if (!n)
		return log_error_errno(-EBADMSG, "Layer %s: hard link '%s' points to missing '%s'", ctx->layer_digest,
				       e->path, e->hardlink_target);
	if (fs_node_is_dir(n))
		return log_error_errno(-EBADMSG, "Layer %s: hard link '%s' points to the directory '%s'",
				       ctx->layer_digest, e->path, e->hardlink_target);
	*ret = n->inode;
	return 0;
}

static int apply_whiteout(struct flatten_context *ctx, struct fs_node *dir, const char *name, const char *path)
{
	if (streq(name, WHITEOUT_OPAQUE)) {
		fs_node_prune_children_lower(dir, ctx->layer);
		return 0;
	}
	if (strncmp(name, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
		return 0; /* AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not content */

	const char *victim = name + strlen(WHITEOUT_PREFIX);
	if (victim[0] == '\0' || streq(victim, ".") || streq(victim, ".."))
		return log_error_errno(-EBADMSG, "Layer %s: malformed whiteout '%s'", ctx->layer_digest, path);
	struct fs_node *n = fs_node_lookup_child(dir, victim);
	if (n)
		(void) fs_node_prune_lower(n, ctx->layer);
	return 0;
}

/* Anything inside an AUFS hardlink directory (.wh..wh.plnk/...) is metadata. */
static bool path_in_aufs_meta_dir(const char *path)
{
	for (const char *p = path; p; p = strchr(p, '/'), p = p ? p + 1 : NULL) {
		const char *end = strchrnul(p, '/');
		if (*end == '/' && strncmp(p, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
			return true;
	}
	return false;
}

int flatten_apply_entry(struct flatten_context *ctx, const struct flatten_entry *e, struct fs_inode **ret_data_inode)
{
	char path[FLATTEN_PATH_MAX];
	struct fs_node *dir = NULL, *existing;
	const char *name = NULL;
	int r;

	*ret_data_inode = NULL;
	r = flatten_normalize_path(e->path, path, sizeof(path));
	if (r == -EINVAL)
		return log_error_errno(-EBADMSG, "Layer %s: entry '%s' is absolute or contains '..': refusing it",
				       ctx->layer_digest, e->path);
	if (r < 0)
		return log_error_errno(-EBADMSG,
				       "Layer %s: entry '%s' has a name component over %d bytes or is "
				       "too long",
				       ctx->layer_digest, e->path, FLATTEN_NAME_MAX);
	if (e->uid < 0 || e->uid > UINT32_MAX || e->gid < 0 || e->gid > UINT32_MAX)
		return log_error_errno(-EBADMSG, "Layer %s: entry '%s' has owner %lld:%lld out of range",
				       ctx->layer_digest, e->path, (long long) e->uid, (long long) e->gid);

	ctx->entries_applied++;
	if (path[0] == '\0') {
		/* The root itself ("./"): only its attributes count. */
		if (!e->hardlink_target && S_ISDIR(e->mode)) {
			fs_node_touch(ctx->tree->root, ctx->layer);
			return set_attributes(ctx, ctx->tree->root->inode, e, "/");
		}
		return log_error_errno(-EBADMSG, "Layer %s: entry '%s' would replace the root", ctx->layer_digest,
				       e->path);
	}
	if (path_in_aufs_meta_dir(path))
		return 0;

	/* A whiteout in a directory that no longer exists has nothing to hide
	 * and must not bring the directory back. */
	const char *last = strrchr(path, '/');
	bool whiteout = flatten_is_whiteout_name(last ? last + 1 : path);
	r = resolve_parent(ctx, path, "entry", !whiteout, &dir, &name);
	if (r < 0)
		return r;
	if (!dir || !name)
		return whiteout ? 0 : -EIO;
	if (whiteout)
		return apply_whiteout(ctx, dir, name, e->path);

	existing = fs_node_lookup_child(dir, name);

	if (e->hardlink_target) {
		struct fs_inode *target = NULL;
		r = lookup_hardlink_target(ctx, e, &target);
		if (r < 0)
			return r;
		if (existing && existing->inode == target) {
			fs_node_touch(existing, ctx->layer);
			return 0;
		}
		if (existing)
			fs_node_remove(existing);
		return add_name(ctx, dir, name, target, NULL);
	}

	if (S_ISDIR(e->mode) && existing && fs_node_is_dir(existing)) {
		/* Dir over dir: children merge, attributes are the upper layer's. */
		fs_node_touch(existing, ctx->layer);
		return set_attributes(ctx, existing->inode, e, e->path);
	}

	switch (e->mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		return log_error_errno(-EBADMSG, "Layer %s: entry '%s' has unknown type 0%o", ctx->layer_digest,
				       e->path, (unsigned) (e->mode & S_IFMT));
	}

	struct fs_inode *inode = fs_inode_new(ctx->tree, e->mode);
	if (!inode)
		return -ENOMEM;
	r = set_attributes(ctx, inode, e, e->path);
	if (r < 0)
		return r;
	if (S_ISLNK(e->mode)) {
		inode->symlink_target = strdup(e->symlink_target ? e->symlink_target : "");
		if (!inode->symlink_target)
			return -ENOMEM;
		inode->mode = S_IFLNK | 0777;
	} else if (S_ISCHR(e->mode) || S_ISBLK(e->mode))
		inode->rdev = e->rdev;
	else if (S_ISREG(e->mode))
		inode->size = e->size;

	/* Any other type change replaces the lower entry and its subtree. */
	if (existing)
		fs_node_remove(existing);
	r = add_name(ctx, dir, name, inode, NULL);
	if (r < 0)
		return r;
	if (S_ISREG(e->mode))
		*ret_data_inode = inode;
	return 0;
}
