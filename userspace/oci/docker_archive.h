/* SPDX-License-Identifier: Apache-2.0 */
/* A manifest store over what `docker save` and `buildah push IMG
 * docker-archive:FILE` write, for `--source docker-archive:FILE[:REF]`
 * (FILE "-" is standard input): a tar with manifest.json, the image config
 * and uncompressed layer tars. Such an archive has no registry manifest, so
 * one is made from manifest.json whose layer digests are the config's
 * rootfs.diff_ids: each layer's bytes are hashed as they stream and must
 * match its diff_id, and the config must match the digest its name carries
 * (when it carries one), which is all the verification the format permits. */
#pragma once

#include "pull_source.h"

/* ret_object is always NULL: REF picks among the archive's images here. */
int docker_archive_open(const char *spec, struct manifest_store *ret_store, char **ret_object);
void docker_archive_close(struct manifest_store *store);
