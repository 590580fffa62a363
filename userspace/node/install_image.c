/* SPDX-License-Identifier: Apache-2.0 */
#include "install_image.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "grub_cfg.h"
#include "image_meta.h"
#include "log.h"
#include "sqfs_extract.h"
#include "sqfs_writer.h"
#include "util.h"

/* squashfs at a fast zstd level comes out about the size of the gzipped
 * layers; leave room for a worse ratio and the filesystem's own metadata. */
#define SPACE_MARGIN_PERCENT 20
#define SPACE_MARGIN_BYTES (16ULL << 20)

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int image_install_open(struct image_install *in, const char *source, const struct pull_options *pull,
		       const struct build_options *build)
{
	*in = (struct image_install){ .source = source, .build = *build };
	build_options_require_bootable(&in->build);
	int r = pull_open(source, pull, &in->img);
	if (r < 0)
		return r;
	in->id = image_id_from_digest(pull_digest(in->img));
	if (!in->id)
		return log_error_errno(-EBADMSG, "The image's manifest digest is not sha256: cannot name the image");
	return 0;
}

static void format_mib(uint64_t bytes, char buf[32])
{
	snprintf(buf, 32, "%.1f MiB", (double) bytes / 1048576.0);
}

/* Refuse before writing anything when the image cannot fit, with what
 * stays beside it while it is built: the upper layers kept to be read
 * twice (kept_bytes) and the small files set aside (spill_bytes). */
static int check_space(const char *dir, uint64_t layers_bytes, uint64_t kept_bytes)
{
	/* layers_bytes is the manifest's claim: saturate, a wrap would pass the check */
	uint64_t image = add_sat_u64(add_sat_u64(layers_bytes, mul_sat_u64(layers_bytes / 100, SPACE_MARGIN_PERCENT)),
				     SPACE_MARGIN_BYTES),
		 need = add_sat_u64(image, kept_bytes), free_bytes;
	int r = state_dir_free_bytes(dir, &free_bytes);
	if (r < 0)
		return r;
	if (free_bytes >= need)
		return 0;
	char n[32], f[32], i[32], k[32];
	format_mib(need, n);
	format_mib(free_bytes, f);
	format_mib(image, i);
	format_mib(kept_bytes, k);
	return log_error_errno(-ENOSPC,
			       "Not enough space on the partition holding %s: the new image needs about %s (%s for "
			       "the image, %s for layers kept to be read twice), %s are free. Nothing was changed. "
			       "Free space there (unused images are removed automatically) or use a smaller image",
			       dir, n, i, k, f);
}

int image_install_prepare(struct image_install *in, const struct state_dir *sd, enum boot_slot slot, bool reuse)
{
	in->sd = sd;
	in->reuse = reuse;
	in->image_path = state_dir_image_path(sd, slot, in->id);
	in->meta_path = state_dir_meta_path(sd, slot, in->id);
	in->index_path = state_dir_image_file(sd, slot, in->id, IMAGE_EXT_INDEX);
	in->slot = slot;
	if (!in->image_path || !in->meta_path || !in->index_path ||
	    asprintf(&in->images_dir, "%s/images", slot == BOOT_SLOT_RECOVERY ? sd->recovery_path : sd->path) < 0)
		return -ENOMEM;
	if (mkdir(in->images_dir, 0755) < 0 && errno != EEXIST)
		return log_error_errno(negative_errno(), "Failed to create %s: %m", in->images_dir);
	if (reuse && file_exists(in->image_path))
		return 0; /* nothing to build */
	/* The small files set aside while it is built need no room of their
	 * own: their room comes back as they go into the image (sqfs_writer.c). */
	return check_space(in->images_dir, pull_layer_bytes(in->img), pull_reread_bytes(in->img, &in->build));
}

/* The image (or its kernel or initrd) may already be on its partition
 * (--force of a slot's image, or passive's image made active again): the
 * new file's rename replaces it before the commit. GRUB reads ext4 without
 * replaying the journal, so after a power cut it may still see the old
 * directory entry: the old file stays linked under a temporary name, its
 * blocks never reused, until the journal is checkpointed
 * (image_install_release()). */
static int keep_old_file(struct image_install *in, const char *path, const char *ext)
{
	if (access(path, F_OK) < 0)
		return 0;
	size_t slot = 0;
	while (slot < ELEMENTSOF(in->kept) && in->kept[slot])
		slot++;
	assert(slot < ELEMENTSOF(in->kept));
	_cleanup_free_ char *keep = NULL;
	if (asprintf(&keep, "%s/.tmp-keep-%s%s", in->images_dir, in->id, ext) < 0)
		return -ENOMEM;
	(void) unlink(keep);
	fault_point("link");
	int r = link(path, keep) < 0 ? negative_errno() : fsync_parent_dir(keep);
	if (r < 0) {
		(void) unlink(keep);
		return log_error_errno(r, "Failed to keep %s until the commit: %m", path);
	}
	in->kept[slot] = TAKE_PTR(keep);
	return 0;
}

/* The kernel and the initrd beside the image, where GRUB reads them without
 * reading the squashfs: copied out of the image (never from the host). */
static const struct {
	const char *inside, *ext;
	uint64_t max;
} boot_files[] = {
	{ "/boot/vmlinuz", IMAGE_EXT_KERNEL, IMAGE_KERNEL_MAX },
	{ "/boot/initrd", IMAGE_EXT_INITRD, IMAGE_INITRD_MAX },
};

int image_extract_boot_files(const char *image, const char *kernel_out, const char *initrd_out)
{
	const char *outs[ELEMENTSOF(boot_files)] = { kernel_out, initrd_out };
	for (size_t i = 0; i < ELEMENTSOF(boot_files); i++) {
		int r = sqfs_extract_file(image, boot_files[i].inside, outs[i], boot_files[i].max);
		if (r < 0)
			return r;
	}
	return 0;
}

int image_install_boot_files(const struct state_dir *sd, enum boot_slot slot, const char *id)
{
	_cleanup_free_ char *image = state_dir_image_path(sd, slot, id),
			    *kernel = state_dir_image_file(sd, slot, id, IMAGE_EXT_KERNEL),
			    *initrd = state_dir_image_file(sd, slot, id, IMAGE_EXT_INITRD);
	if (!image || !kernel || !initrd)
		return -ENOMEM;
	return image_extract_boot_files(image, kernel, initrd);
}

/* As image_install_boot_files(), each file it replaces kept until the
 * commit; on a rerun (not rebuilt) the files already there stay. */
static int write_boot_files(struct image_install *in, bool rebuilt)
{
	for (size_t i = 0; i < ELEMENTSOF(boot_files); i++) {
		_cleanup_free_ char *out = state_dir_image_file(in->sd, in->slot, in->id, boot_files[i].ext);
		if (!out)
			return -ENOMEM;
		if (!rebuilt && file_exists(out))
			continue;
		int r = keep_old_file(in, out, boot_files[i].ext);
		if (r == 0)
			r = sqfs_extract_file(in->image_path, boot_files[i].inside, out, boot_files[i].max);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The node's active and passive images (on COS_STATE), other than the one
 * being installed, as images to build from. */
static int find_candidates(struct image_install *in, const struct boot_state *s)
{
	static const enum boot_slot slots[] = { BOOT_SLOT_ACTIVE, BOOT_SLOT_PASSIVE };
	for (size_t i = 0; i < ELEMENTSOF(slots); i++) {
		const char *id = s->slots[slots[i]].image;
		if (!id[0] || streq(id, in->id))
			continue;
		size_t k = in->n_candidates;
		if (k > 0 && streq(in->candidates[0].name, id))
			continue;
		char **paths = in->candidate_paths[k];
		paths[0] = state_dir_image_path(in->sd, slots[i], id);
		paths[1] = state_dir_image_file(in->sd, slots[i], id, IMAGE_EXT_INDEX);
		if (!paths[0] || !paths[1])
			return -ENOMEM;
		in->candidates[k] = (struct build_reuse){ .image = paths[0], .index = paths[1], .name = id };
		in->n_candidates++;
	}
	in->build.reuse = in->candidates;
	in->build.n_reuse = in->n_candidates;
	return 0;
}

/* On a failure: a kept file whose name the build left empty (a refused
 * signed root hash removes the new image; it may have replaced the active
 * slot's, under --force) goes back under its name; the same id, so the same
 * image the state names. */
static void restore_kept(struct image_install *in)
{
	static const char prefix[] = "/.tmp-keep-";
	bool restored = false;
	for (size_t i = 0; i < ELEMENTSOF(in->kept) && in->kept[i]; i++) {
		const char *name = strstr(in->kept[i], prefix);
		_cleanup_free_ char *path = NULL;
		if (!name || asprintf(&path, "%s/%s", in->images_dir, name + strlen(prefix)) < 0)
			continue;
		if (file_exists(path) || rename(in->kept[i], path) < 0)
			continue;
		free(in->kept[i]);
		in->kept[i] = NULL;
		restored = true;
	}
	/* Compact the list: release stops at the first empty slot. */
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(in->kept); i++)
		if (in->kept[i])
			in->kept[n++] = in->kept[i];
	for (size_t i = n; i < ELEMENTSOF(in->kept); i++)
		in->kept[i] = NULL;
	if (restored)
		(void) fsync_path(in->images_dir);
}

int image_install_write(struct image_install *in, const struct boot_state *s, const char *keep_id)
{
	int r = 0;
	/* A signed root hash is checked on a build: a rerun builds again. */
	bool binds = pull_root_hash_binds(in->img);
	bool rebuilt = binds || !(in->reuse && file_exists(in->image_path));
	if (rebuilt) {
		r = keep_old_file(in, in->image_path, IMAGE_EXT_SQUASHFS);
		if (r == 0)
			r = keep_old_file(in, in->index_path, IMAGE_EXT_INDEX);
		if (r == 0)
			r = find_candidates(in, s);
		if (r < 0)
			return r;
		in->build.index_path = in->index_path;
		r = pull_build(in->img, in->image_path, &in->build, NULL);
		if (r == -ENOSPC)
			log_error("The partition holding %s is full; nothing was changed and the partial image was "
				  "removed. Free some space and retry",
				  in->images_dir);
	}
	if (r == 0)
		r = write_boot_files(in, rebuilt);
	if (r == 0 && (binds || !(in->reuse && file_exists(in->meta_path)))) {
		struct image_meta meta = image_meta_from_pull(in->img, in->source);
		r = image_meta_set_layers(&meta, in->img);
		if (r == 0)
			r = image_meta_write_installed(in->meta_path, &meta, in->image_path);
		image_meta_free_layers(&meta);
	}
	if (r == 0)
		r = grub_cfg_install(in->sd->path);
	if (r < 0) {
		restore_kept(in);
		/* Whatever the builder or the metadata left is unreferenced: drop it now. */
		image_install_release(in);
		(void) state_dir_clean(in->sd, s, keep_id);
	}
	return r;
}

void image_install_release(struct image_install *in)
{
	if (!in->kept[0])
		return;
	int r = checkpoint_for_bootloader(in->images_dir);
	if (r < 0)
		log_warning_errno(r,
				  "Could not flush the journal of %s for GRUB (%m): a power cut in the next seconds "
				  "may leave GRUB reading a replaced image",
				  in->images_dir);
	for (size_t i = 0; i < ELEMENTSOF(in->kept) && in->kept[i]; i++) {
		if (unlink(in->kept[i]) < 0 && errno != ENOENT)
			log_warning_errno(negative_errno(), "Failed to remove %s: %m (the next upgrade removes it)",
					  in->kept[i]);
		free(in->kept[i]);
		in->kept[i] = NULL;
	}
}

void image_install_done(struct image_install *in)
{
	image_install_release(in);
	pull_free(in->img);
	free(in->images_dir);
	free(in->image_path);
	free(in->meta_path);
	free(in->index_path);
	for (size_t i = 0; i < ELEMENTSOF(in->candidate_paths); i++) {
		free(in->candidate_paths[i][0]);
		free(in->candidate_paths[i][1]);
	}
	*in = (struct image_install){ 0 };
}
