/* SPDX-License-Identifier: Apache-2.0 */
/* The one install path of upgrade and reset --source: pull a source into a
 * slot's images/ directory as <id>.squashfs, named by its manifest digest,
 * with <id>.json beside it; on any failure nothing is left. The verbs keep
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
#include "pull.h"
#include "state_dir.h"

struct image_install {
	const char *source;         /* as given: the metadata's source */
	struct build_options build; /* with require_boot */
	struct pull *img;
	const char *id; /* inside pull_digest(img) */
	const struct state_dir *sd;
	char *images_dir, *image_path, *meta_path;
	bool reuse;
	char *kept; /* the image this one replaces, linked until image_install_release() */
};

/* Resolve source (no layer is fetched) and take the id from its digest.
 * build: the caller's options (compression from --compression, as given in
 * compression for the message); a compression GRUB cannot boot is refused. */
int image_install_open(struct image_install *in, const char *source, const struct pull_options *pull,
		       const struct build_options *build, const char *compression);

/* Into slot's images/ directory on sd (created): refuse (-ENOSPC) before
 * anything is written when the image cannot fit. reuse: an image and
 * metadata already there are kept as they are (a rerun finishes the job);
 * else they are replaced. */
int image_install_prepare(struct image_install *in, const struct state_dir *sd, enum boot_slot slot, bool reuse);

/* Build the image and write its metadata. On failure nothing is left: what
 * this run wrote goes through state_dir_clean(sd, s, keep_id). */
int image_install_write(struct image_install *in, const struct boot_state *s, const char *keep_id);

/* After the commit (or a failed one): the image this one replaced goes,
 * once GRUB sees the directory as Linux does. */
void image_install_release(struct image_install *in);

/* Frees everything; takes a pointer so it can be a cleanup. */
void image_install_done(struct image_install *in);
