/* SPDX-License-Identifier: Apache-2.0 */
/* image_source -> squashfs file: flatten every layer in one streaming pass,
 * data straight into the block processor, metadata kept in memory. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "block_cache.h"
#include "build_image.h"
#include "durable.h"
#include "flatten.h"
#include "fs_tree.h"
#include "image_reuse.h"
#include "kept_data.h"
#include "layer_index.h"
#include "layer_prescan.h"
#include "layer_reader.h"
#include "layer_walk.h"
#include "log.h"
#include "sqfs_writer.h"
#include "util.h"

/* Zeros written between two looks at the stream: ~10 ms of work. */
#define HOLE_CHECK_BYTES (64ull * 1024 * 1024)

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Write n zeros (a hole the reader has charged to the budget). Holes can
 * be long: look at the source now and then, so that a blob failing its
 * digest or stalling stops the build at once, not after the hole. */
static int write_zeros(struct sqfs_writer *w, int (*check)(void *), void *ctx, uint64_t n)
{
	static const uint8_t zeros[64 * 1024];
	for (uint64_t done = 0; done < n;) {
		size_t k = (size_t) (n - done < sizeof(zeros) ? n - done : sizeof(zeros));
		int r = sqfs_writer_append(w, zeros, k);
		if (r < 0)
			return r;
		done += k;
		if (check && done % HOLE_CHECK_BYTES < k) {
			r = check(ctx);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Copy a file's data, as pieces from read_piece(ctx) (the current entry of
 * a layer, data kept_data.h kept, a file of an installed image), into the
 * block processor. Sparse holes and a short tail become zeros, which the
 * processor stores as sparse blocks. check(ctx), when not NULL, is looked
 * at while writing holes. */
/* What write_pieces() hashes, when a layer index records the files' sha256. */
static int write_pieces(struct sqfs_writer *w, data_piece_fn *read_piece, int (*check)(void *), void *ctx,
			struct fs_inode *inode, EVP_MD_CTX *md)
{
	uint64_t pos = 0;
	int r;

	r = sqfs_writer_begin_file(w, inode);
	if (r < 0)
		return r;
	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return -EIO;
	for (;;) {
		const void *buf;
		size_t size;
		int64_t offset;
		/* pieces come in order, within the entry's size, holes charged */
		r = read_piece(ctx, &buf, &size, &offset);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		r = write_zeros(w, check, ctx, (uint64_t) offset - pos);
		if (r >= 0 && md)
			r = layer_index_hash_zeros(md, (uint64_t) offset - pos);
		if (r < 0)
			return r;
		r = sqfs_writer_append(w, buf, size);
		if (r >= 0 && md && EVP_DigestUpdate(md, buf, size) != 1)
			r = -EIO;
		if (r < 0)
			return r;
		pos = (uint64_t) offset + size;
	}
	r = write_zeros(w, check, ctx, inode->size - pos);
	if (r >= 0 && md)
		r = layer_index_hash_zeros(md, inode->size - pos);
	unsigned len = 0;
	if (r >= 0 && md && (EVP_DigestFinal_ex(md, inode->data_sha256, &len) != 1 || len != 32))
		r = -EIO;
	if (r < 0)
		return r;
	return sqfs_writer_end_file(w);
}

/* The current entry's data, from its layer (or the installed image it is
 * replayed from); md: hashed into inode->data_sha256 for the layer index. */
static int write_entry_data(struct sqfs_writer *w, struct layer_walk *lw, struct fs_inode *inode, EVP_MD_CTX *md)
{
	if (md && lw->data_sha256) { /* the source checks it: no need to hash it twice */
		memcpy(inode->data_sha256, lw->data_sha256, sizeof(inode->data_sha256));
		md = NULL;
	}
	return write_pieces(w, lw->read_data, lw->check, lw->data_ctx, inode, md);
}

struct build {
	struct image_source *src;
	struct sqfs_writer *writer;
	struct fs_tree *tree;
	struct shadow_set *shadow;
	/* Hidden files' data of the layers below kept_from (those the source
	 * does not keep), for a hard link that keeps one after all. */
	struct kept_data *kept;
	size_t kept_from;
	struct build_stats stats;
	bool warned_xattr;
	struct expansion_budget budget; /* the main pass's */
	uint64_t max_entries;
	struct image_reuse *reuse;        /* the installed image the first layers come from, or NULL */
	struct layer_index_writer *index; /* the image's layer index, or NULL */
	EVP_MD_CTX *index_md;             /* the files' sha256 for it, or NULL */
	char settings[160];               /* the writer's (sqfs_writer_settings()), for the index */
};

struct apply_pass {
	struct build *b;
	struct flatten_context ctx;
};

/* The index is for a later build's benefit: without it, this image is
 * simply never reused. */
static void drop_index(struct build *b)
{
	log_warning("Not writing the layer index of this image: a later image built from it downloads all its "
		    "layers");
	if (b->index)
		layer_index_writer_free(TAKE_PTR(b->index));
	EVP_MD_CTX_free(TAKE_PTR(b->index_md)); /* the files' sha256 are for the index only */
}

static int apply_entry(struct layer_walk *w, const struct flatten_entry *e)
{
	struct apply_pass *a = w->userdata;
	struct build *b = a->b;
	struct fs_inode *inode;
	char path[FLATTEN_PATH_MAX];

	a->ctx.layer_digest = w->digest;
	if (b->index && layer_index_add_entry(b->index, e) < 0)
		drop_index(b);
	int r = flatten_apply_entry(&a->ctx, e, &inode);
	if (r < 0 || !inode)
		return r;
	b->stats.tar_bytes = add_sat_u64(b->stats.tar_bytes, e->size);
	/* the entry that holds its data: the revive pass and the layer index look it up */
	inode->data_layer = a->ctx.layer;
	inode->data_entry_index = w->ordinal;
	if (b->shadow && flatten_normalize_path(e->path, path, sizeof(path)) == 0 &&
	    shadow_set_hides(b->shadow, path, a->ctx.layer)) {
		inode->data_skipped = true;
		return b->kept && a->ctx.layer < b->kept_from
			       ? kept_data_save(b->kept, w->read_data, w->data_ctx, inode)
			       : 0;
	}
	return write_entry_data(b->writer, w, inode, b->index_md);
}

static int apply_layer(struct build *b, size_t index)
{
	struct apply_pass a = {
		.b = b,
		.ctx = {
			.tree = b->tree,
			.layer = (unsigned) index,
			.warned_xattr = b->warned_xattr,
			.max_entries = b->max_entries,
		},
	};
	struct layer_walk w = { .budget = &b->budget, .entry = apply_entry, .userdata = &a };
	if (b->index && layer_index_begin_layer(b->index, b->src->layer_digest(b->src, index)) < 0)
		drop_index(b);
	int r = layer_walk(b->src, index, &w);
	if (r == 0)
		b->stats.layer_bytes += w.stream_bytes;
	b->warned_xattr = a.ctx.warned_xattr;
	return r;
}

struct revive_list {
	struct fs_inode **inodes;
	size_t n, n_alloc;
};

static int collect_revived(struct fs_node *n, void *userdata)
{
	struct revive_list *l = userdata;
	struct fs_inode *i = n->inode;
	/* revive_listed: another name of the same inode (a flag, not a search
	 * of the list: many hard links must not cost n^2) */
	if (!S_ISREG(i->mode) || !i->data_skipped || i->data_written || i->revive_listed)
		return 0;
	if (l->n == l->n_alloc) {
		size_t na = l->n_alloc ? l->n_alloc * 2 : 16;
		struct fs_inode **p = reallocarray(l->inodes, na, sizeof(struct fs_inode *));
		if (!p)
			return -ENOMEM;
		l->inodes = p;
		l->n_alloc = na;
	}
	l->inodes[l->n++] = i;
	i->revive_listed = true;
	return 0;
}

static int compare_revived(const void *a, const void *b)
{
	const struct fs_inode *x = *(struct fs_inode *const *) a, *y = *(struct fs_inode *const *) b;
	if (x->data_layer != y->data_layer)
		return x->data_layer < y->data_layer ? -1 : 1;
	return x->data_entry_index < y->data_entry_index ? -1 : x->data_entry_index > y->data_entry_index;
}

/* Re-reading one layer for the revived files of it, inodes[k..] on. */
struct revive_pass {
	struct build *b;
	struct fs_inode **inodes;
	size_t n, k;
	unsigned layer;
};

static int revive_entry(struct layer_walk *w, const struct flatten_entry *e)
{
	struct revive_pass *p = w->userdata;
	struct fs_inode **inodes = p->inodes;
	if (w->ordinal != inodes[p->k]->data_entry_index)
		return 0;
	if (e->size != inodes[p->k]->size)
		return log_error_errno(-EBADMSG, "Layer %s changed between reads at '%s'", w->digest, e->path);
	int r = write_entry_data(p->b->writer, w, inodes[p->k], p->b->index_md);
	for (p->k++; r >= 0 && p->k < p->n && inodes[p->k]->data_entry_index == w->ordinal &&
		     inodes[p->k]->data_layer == p->layer;
	     p->k++)
		;
	if (r < 0)
		return r;
	/* all of this layer's done: the rest of it is only read and checked */
	return p->k < p->n && inodes[p->k]->data_layer == p->layer ? 0 : 1;
}

static int revive_archive_end(struct layer_walk *w)
{
	return log_error_errno(-EBADMSG, "Layer %s changed between reads", w->digest);
}

/* The pre-scan said an upper layer hides these files, yet they are in the
 * final tree: a hard link kept them alive (or the pre-scan saw something the
 * real pass did not). Read their layers again to write the data. */
static int write_revived_data(struct build *b)
{
	struct revive_list l = {};
	int r = fs_tree_walk_post_order(b->tree->root, collect_revived, &l);
	_cleanup_free_ struct fs_inode **inodes = l.inodes;
	if (r < 0 || l.n == 0)
		return r;
	qsort(inodes, l.n, sizeof(struct fs_inode *), compare_revived);

	for (size_t k = 0; k < l.n;) {
		unsigned layer = inodes[k]->data_layer;
		size_t n_here = 0;
		for (size_t j = k; j < l.n && inodes[j]->data_layer == layer; j++)
			n_here++;
		if (b->kept && layer < b->kept_from && kept_data_has_all(b->kept, inodes + k, n_here)) {
			for (; r >= 0 && k < l.n && inodes[k]->data_layer == layer; k++) {
				r = kept_data_open(b->kept, inodes[k]);
				if (r >= 0)
					r = write_pieces(b->writer, kept_data_read_piece, NULL, b->kept, inodes[k],
							 b->index_md);
			}
			if (r < 0)
				return r;
			continue;
		}
		log_info("Reading layer %s again for %zu file(s) the pre-scan skipped but a hard "
			 "link keeps",
			 b->src->layer_digest(b->src, layer), n_here);
		/* Layers the main pass read whole, within its budget. */
		struct revive_pass p = { .b = b, .inodes = inodes, .n = l.n, .k = k, .layer = layer };
		struct layer_walk w = { .entry = revive_entry, .archive_end = revive_archive_end, .userdata = &p };
		r = layer_walk(b->src, layer, &w);
		if (r < 0)
			return r;
		k = p.k;
	}
	return 0;
}

static void account_shadowed(struct build *b)
{
	for (struct fs_inode *i = b->tree->all_inodes; i; i = i->all_next) {
		if (!S_ISREG(i->mode) || i->nlink > 0)
			continue;
		if (i->data_written)
			b->stats.wasted_bytes += i->size;
		else if (i->data_skipped || i->data_deferred) /* a set-aside small file is never written */
			b->stats.skipped_bytes += i->size;
	}
}

/* The stored bytes of the upper layers when they are pre-scanned (read
 * twice), else 0. */
static uint64_t prescan_bytes(struct image_source *src, const struct build_options *opts)
{
	uint64_t upper = 0;
	if (opts->no_prescan || src->n_layers < 2)
		return 0;
	for (size_t i = 1; i < src->n_layers; i++)
		upper = add_sat_u64(upper, src->layer_size(src, i));
	uint64_t limit = opts->prescan_limit ?: BUILD_PRESCAN_LIMIT_DEFAULT;
	if (upper > limit) {
		log_debug("Upper layers hold %" PRIu64 " bytes: not pre-scanning them", upper);
		return 0;
	}
	return upper;
}

uint64_t build_image_reread_bytes(struct image_source *src, const struct build_options *opts)
{
	struct build_options defaults;
	if (!opts) {
		build_options_init(&defaults);
		opts = &defaults;
	}
	return src->keep_layers ? prescan_bytes(src, opts) : 0;
}

static int maybe_prescan(struct build *b, const char *dir, const struct build_options *opts)
{
	if (prescan_bytes(b->src, opts) == 0)
		return 0;
	int r = shadow_set_new(&b->shadow);
	if (r < 0)
		return r;
	b->stats.prescanned = true;
	/* Read again by the main pass: a registry source keeps them, and the
	 * hidden files of layer 0 are kept here (a read would download). */
	if (b->src->keep_layers && (r = b->src->keep_layers(b->src, 1)) < 0)
		return r;
	if (r > 0 && b->src->replayed_layers == 0) {
		/* the image is about the layers' size: leave that, and a fifth more */
		uint64_t image = 0;
		for (size_t i = 0; i < b->src->n_layers; i++)
			image = add_sat_u64(image, b->src->layer_size(b->src, i));
		b->kept_from = 1;
		r = kept_data_new(dir, add_sat_u64(image, image / 5), &b->kept);
		if (r < 0)
			return r;
	}
	return shadow_set_scan(b->src, 1, b->shadow);
}

/* The node path names in the tree, following symbolic links inside the
 * image (as GRUB does: /boot/vmlinuz may link to vmlinuz-VERSION), at most
 * 40 of them as the kernel allows; NULL when it does not resolve. */
#define MAX_LINK_HOPS 40
static const struct fs_node *resolve_in_tree(const struct fs_tree *t, const struct fs_node *dir, const char *path,
					     unsigned *hops)
{
	const struct fs_node *n = path[0] == '/' ? t->root : dir;

	while (n && *path) {
		size_t len = strcspn(path, "/");
		if (len == 0 || (len == 1 && path[0] == '.')) {
			/* an empty or "." component */
		} else if (len == 2 && path[0] == '.' && path[1] == '.') {
			if (n->parent)
				n = n->parent;
		} else {
			if (!fs_node_is_dir(n))
				return NULL;
			_cleanup_free_ char *name = strndup(path, len);
			if (!name)
				return NULL;
			n = fs_node_lookup_child(n, name);
			while (n && S_ISLNK(n->inode->mode)) {
				if (++*hops > MAX_LINK_HOPS || !n->inode->symlink_target)
					return NULL;
				n = resolve_in_tree(t, n->parent, n->inode->symlink_target, hops);
			}
		}
		path += len;
		path += strspn(path, "/");
	}
	return n;
}

/* GRUB boots the image's kernel and initrd (copied beside it before the
 * commit, or read inside it for an image installed by an older release):
 * an image without them would be committed and then fail every try, so it
 * is refused before the image is even renamed into place. */
static int check_bootable(const struct fs_tree *t)
{
	static const char *const need[] = { "/boot/vmlinuz", "/boot/initrd" };

	for (size_t i = 0; i < ELEMENTSOF(need); i++) {
		unsigned hops = 0;
		const struct fs_node *n = resolve_in_tree(t, t->root, need[i], &hops);
		if (!n || !S_ISREG(n->inode->mode) || n->inode->size == 0)
			return log_error_errno(-ENOEXEC,
					       "The image has no %s (%s): GRUB boots the image's own kernel and "
					       "initrd, so this image cannot boot. Was it removed in a "
					       "derived image's Dockerfile? Nothing was changed",
					       need[i],
					       !n                         ? "missing"
					       : !S_ISREG(n->inode->mode) ? "not a file"
									  : "empty");
	}
	return 0;
}

static int compare_by_entry(const void *a, const void *b)
{
	const struct fs_inode *x = *(struct fs_inode *const *) a, *y = *(struct fs_inode *const *) b;
	if (x->data_layer != y->data_layer)
		return x->data_layer < y->data_layer ? -1 : 1;
	return x->data_entry_index < y->data_entry_index ? -1 : x->data_entry_index > y->data_entry_index;
}

/* The index's file records: each file of the image, by the entry that
 * holds its data, and where its inode is (the image is written). */
static int index_files(struct build *b)
{
	size_t n = 0, k = 0;
	for (struct fs_inode *i = b->tree->all_inodes; i; i = i->all_next)
		n += S_ISREG(i->mode) && i->nlink > 0;
	_cleanup_free_ struct fs_inode **files = calloc(n ? n : 1, sizeof(struct fs_inode *));
	if (!files)
		return -ENOMEM;
	for (struct fs_inode *i = b->tree->all_inodes; i; i = i->all_next)
		if (S_ISREG(i->mode) && i->nlink > 0)
			files[k++] = i;
	qsort(files, n, sizeof(struct fs_inode *), compare_by_entry);
	for (k = 0; k < n; k++) {
		int r = layer_index_add_file(b->index, files[k]->data_layer, files[k]->data_entry_index,
					     files[k]->inode_ref, files[k]->size, files[k]->data_sha256);
		if (r < 0)
			return r;
	}
	return 0;
}

static int build(struct build *b, int fd, const char *tmp_path, const char *dir, const struct build_options *opts)
{
	int r = sqfs_writer_new(fd, tmp_path, opts, &b->writer);
	if (r < 0)
		return r;
	(void) snprintf(b->settings, sizeof(b->settings), "%s", sqfs_writer_settings(b->writer));
	if (b->reuse)
		image_reuse_attach_writer(b->reuse, b->writer);
	if (opts->index_path &&
	    (layer_index_writer_new(opts->index_path, &b->index) < 0 || !(b->index_md = EVP_MD_CTX_new())))
		drop_index(b);
	r = fs_tree_new(&b->tree);
	if (r < 0)
		return r;
	b->max_entries = opts->max_entries;
	r = maybe_prescan(b, dir, opts);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b->src->n_layers; i++) {
		r = apply_layer(b, i);
		if (r < 0)
			return r;
	}
	r = write_revived_data(b);
	if (r < 0)
		return r;
	account_shadowed(b);
	if (opts->require_boot && (r = check_bootable(b->tree)) < 0)
		return r;
	if (b->stats.wasted_bytes > 0)
		log_info("%" PRIu64 " bytes of file data were written but are hidden by upper layers",
			 b->stats.wasted_bytes);
	r = sqfs_writer_finish(b->writer, b->tree, &b->stats.entries);
	if (r < 0)
		return r;
	b->stats.output_bytes = sqfs_writer_bytes_written(b->writer);
	if (b->reuse) {
		uint64_t offered;
		block_cache_counts(sqfs_writer_block_cache(b->writer), &offered, &b->stats.reused_blocks);
		b->stats.reused_layers = image_reuse_layers(b->reuse);
		b->stats.reused_bytes = image_reuse_bytes(b->reuse);
		log_debug("Blocks of the installed image offered: %" PRIu64 ", taken: %" PRIu64, offered,
			  b->stats.reused_blocks);
	}
	if (b->index && index_files(b) < 0)
		drop_index(b);
	double tree_start = now_seconds();
	r = verity_tree_append_image(fd, tmp_path, b->stats.output_bytes, &b->stats.verity);
	b->stats.verity_seconds = now_seconds() - tree_start;
	return r;
}

static int build_once(struct image_source *src, const char *output_path, const struct build_options *opts,
		      struct build_stats *stats)
{
	struct build_options defaults;
	_cleanup_(image_reuse_freep) struct image_reuse *reuse = NULL;
	double start = now_seconds();
	_cleanup_free_ char *dir_copy = strdup(output_path), *base_copy = strdup(output_path);
	_cleanup_free_ char *tmp_path = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!opts) {
		build_options_init(&defaults);
		opts = &defaults;
	}
	if (opts->block_size == 0 || opts->prescan_limit == 0) {
		defaults = *opts;
		if (defaults.block_size == 0)
			defaults.block_size = BUILD_BLOCK_SIZE_DEFAULT;
		if (defaults.prescan_limit == 0)
			defaults.prescan_limit = BUILD_PRESCAN_LIMIT_DEFAULT;
		opts = &defaults;
	}
	if (opts->n_reuse > 0 && (r = image_reuse_pick(opts->reuse, opts->n_reuse, src, &reuse)) < 0)
		// cppcheck-suppress memleak ; freed by their _cleanup_ attributes
		return r;
	struct build b = { .src = reuse ? image_reuse_source(reuse) : src, .reuse = reuse };
	if (reuse && opts->on_reuse)
		opts->on_reuse(opts->on_reuse_userdata, image_reuse_layers(reuse), image_reuse_bytes(reuse),
			       image_reuse_name(reuse));
	const char *dir = dir_copy ? dirname(dir_copy) : NULL;
	if (!dir || !base_copy || asprintf(&tmp_path, "%s/.tmp-%s.XXXXXX", dir, basename(base_copy)) < 0)
		return -ENOMEM;

	fd = mkostemp(tmp_path, O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(negative_errno(), "Cannot create %s: %m", tmp_path);
	if (fchmod(fd, 0644) < 0)
		r = log_error_errno(negative_errno(), "Cannot chmod %s: %m", tmp_path);
	else
		r = build(&b, fd, tmp_path, dir, opts);
	if (b.writer)
		sqfs_writer_free(b.writer); /* joins the workers before the tree goes */
	if (b.tree)
		fs_tree_free(b.tree);
	if (b.shadow)
		shadow_set_free(b.shadow);
	EVP_MD_CTX_free(b.index_md);
	kept_data_free(b.kept);

	if (r >= 0 && fsync(fd) < 0) {
		r = negative_errno();
		if (r == -ENOSPC || r == -EDQUOT)
			log_error_errno(r, "Disk full writing %s: %" PRIu64 " bytes written", tmp_path,
					b.stats.output_bytes);
		else
			log_error_errno(r, "Cannot fsync %s: %m", tmp_path);
	}
	if (r >= 0 && close(TAKE_FD(fd)) < 0)
		r = log_error_errno(negative_errno(), "Cannot close %s: %m", tmp_path);
	if (r >= 0) {
		r = rename_durable(tmp_path, output_path);
		if (r < 0)
			log_error_errno(r, "Cannot rename %s to %s: %m", tmp_path, output_path);
	}
	if (r < 0) {
		(void) unlink(tmp_path);
		if (b.index)
			layer_index_writer_free(b.index);
		return r;
	}
	if (b.index && layer_index_commit(b.index, b.settings) < 0)
		log_warning("Not writing the layer index of %s: a later image built from it downloads all its layers",
			    output_path);
	if (b.index)
		layer_index_writer_free(b.index);
	if (reuse)
		b.stats.reused_from = image_reuse_name(reuse);
	b.stats.seconds = now_seconds() - start;
	if (stats)
		*stats = b.stats;
	return 0;
}

int build_image_squashfs(struct image_source *src, const char *output_path, const struct build_options *opts,
			 struct build_stats *stats)
{
	int r = build_once(src, output_path, opts, stats);
	if (r != -EAGAIN || !opts || opts->n_reuse == 0)
		return r;
	/* The installed image let us down (logged): from all the layers. */
	struct build_options full = *opts;
	full.reuse = NULL;
	full.n_reuse = 0;
	return build_once(src, output_path, &full, stats);
}
