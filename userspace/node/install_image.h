/* SPDX-License-Identifier: Apache-2.0 */
/* The one install path of upgrade and reset --source: pull a source into a
 * slot's images/ directory as <id>.squashfs, named by its manifest digest,
 * with <id>.json, and the image's kernel and initrd as <id>.vmlinuz and
 * <id>.initrd (what GRUB boots) beside it; on any failure nothing is left. The verbs keep
 * their own decisions (which slot, hooks, the commit of state.env, reboot).
 *
 * In order: image_install_open() (the manifest only: the id is known before
 * anything is written), image_install_prepare() (where, and whether it fits),
 * image_install_write() (build, metadata), after the commit
 * image_install_release(), image_install_done(). */
#pragma once

#include <stdbool.h>

#include "boot_state.h"
#include "build_options.h"
#include "image_reuse.h"
#include "pull.h"
#include "state_dir.h"

struct image_install {
	const char *source;         /* as given: the metadata's source */
	struct build_options build; /* with require_boot */
	struct pull *img;
	const char *id; /* inside pull_digest(img) */
	const struct state_dir *sd;
	enum boot_slot slot;
	char *images_dir, *image_path, *meta_path;
	bool reuse;
	/* the files this one replaces (image, index, kernel, initrd), linked until image_install_release() */
	char *kept[4];
	char *index_path; /* images/<id>.index, written with the image */
	/* the node's images this one may be built from (image_reuse.h): active and passive */
	struct build_reuse candidates[2];
	char *candidate_paths[2][2];
	size_t n_candidates;
};

/* What GRUB boots, copied out of an image: /boot/vmlinuz and /boot/initrd
 * (links resolved inside the image), refused above these sizes. */
#define IMAGE_KERNEL_MAX (256ULL << 20)
#define IMAGE_INITRD_MAX (1024ULL << 20)

/* Resolve source (no layer is fetched) and take the id from its digest.
 * build: the caller's options (--compression); the build refuses an image
 * without a kernel and an initrd. */
int image_install_open(struct image_install *in, const char *source, const struct pull_options *pull,
		       const struct build_options *build);

/* Into slot's images/ directory on sd (created): refuse (-ENOSPC) before
 * anything is written when the image cannot fit. reuse: an image and
 * metadata already there are kept as they are (a rerun finishes the job);
 * else they are replaced. */
int image_install_prepare(struct image_install *in, const struct state_dir *sd, enum boot_slot slot, bool reuse);

/* Build the image (from the layers of the node's active or passive image
 * when the new one begins with them: image_reuse.h), with its layer index,
 * copy its kernel and initrd beside it, write its metadata,
 * and bring the state partition's grub.cfg (grub_cfg.h) up to date: all
 * durable before the caller's commit. On failure nothing is left: what
 * this run wrote goes through state_dir_clean(sd, s, keep_id). */
int image_install_write(struct image_install *in, const struct boot_state *s, const char *keep_id);

/* Copy the kernel and the initrd out of image to kernel_out and initrd_out
 * (each temp, fsync, rename), links followed inside the image only, each
 * bounded (IMAGE_KERNEL_MAX, IMAGE_INITRD_MAX). -ENOEXEC when the image has
 * none (logged); a file already written stays (GRUB needs both to use them).
 * For the installer and the live ISO (`kairos-upgrade boot-files`). */
int image_extract_boot_files(const char *image, const char *kernel_out, const char *initrd_out);

/* Copy the kernel and the initrd out of the slot's image id (already in
 * place) beside it, replacing those there: for reset, which copies the
 * recovery image rather than building one. -ENOEXEC when the image has
 * none (logged). */
int image_install_boot_files(const struct state_dir *sd, enum boot_slot slot, const char *id);

/* After the commit (or a failed one): the image this one replaced goes,
 * once GRUB sees the directory as Linux does. */
void image_install_release(struct image_install *in);

/* Frees everything; takes a pointer so it can be a cleanup. */
void image_install_done(struct image_install *in);
