/* SPDX-License-Identifier: Apache-2.0 */
/* images/<id>.json beside each image: what only userspace needs to know
 * about it (where it came from, when it was installed). Not needed to boot. */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "boot_state.h"
#include "pull.h"
#include "verity_tree.h"

struct image_meta {
	char *source;    /* "oci:registry/repo:tag" as given */
	char *digest;    /* "sha256:<id>" of the manifest */
	uint64_t size;   /* bytes of the squashfs image */
	char *installed; /* UTC, ISO 8601 */
	/* The anti-downgrade rule's facts (pull_created(), pull_version()):
	 * NULL when the image has none; on reading, NULL when not valid
	 * (oci/image_config.h): the file is on a disk. */
	char *created;   /* the OCI config's "created", RFC 3339 */
	char *version;   /* its org.opencontainers.image.version label */
	char *signed_by; /* fingerprint of the key whose signature was verified, or NULL */
	char *signature; /* "cosign", or NULL: unsigned */
	char *policy;    /* the signature policy file in force, or NULL: none */
	/* What the pull received (pull_bytes_received()); 0: unknown (older metadata). */
	uint64_t received;
	/* The stored bytes of the layers taken from an installed image instead
	 * of downloaded (pull_reused_bytes()), and that image's id; 0/NULL: none. */
	uint64_t reused;
	char *reused_from;
	/* The image's layer digests, bottom first (what a later image built
	 * FROM this one begins with); n_layers 0: unknown (older metadata). */
	char **layers;
	size_t n_layers;
	/* How the image was built (pull_build_record()), written as "build";
	 * NULL: not recorded. Not read back (nothing on the node needs it yet). */
	const struct build_record *build;
	/* The dm-verity tree after the image (pull_verity()): data_blocks 0
	 * when it has none (installed before). On reading, a "verity" member
	 * that is not exactly what image_meta_write() writes leaves it 0 and
	 * says why in verity_invalid (a static string): the file is on a disk. */
	struct verity_record verity;
	const char *verity_invalid;
};

int image_meta_write(const char *path, const struct image_meta *meta);
/* The metadata of an image just installed at image_path: meta's facts about
 * the image (source, digest, created, version, signature), with its size
 * and now. */
int image_meta_write_installed(const char *path, const struct image_meta *meta, const char *image_path);
/* -ENOENT when missing; other fields NULL when absent. */
int image_meta_read(const char *path, struct image_meta *meta);
void image_meta_done(struct image_meta *meta);
/* FILE.json beside FILE.squashfs (FILE.img.json beside FILE.img): where
 * pull writes an image's metadata. NULL: out of memory. */
char *image_meta_path_beside(const char *image);
/* The "verity" member: image_meta_write()'s, and its strict reader (NULL:
 * valid; else why not). */
json_t *image_meta_verity_to_json(const struct verity_record *v);
const char *image_meta_verity_from_json(json_t *o, struct verity_record *ret);
/* What boot needs of the image slot now names, from its metadata at
 * meta_path, into the slot map (boot_state_set_verity()), before the commit
 * that names it: no file or no "verity" member (an image from before the
 * tree) gives no key; an invalid record, or one state.env cannot hold, is
 * -EBADMSG (logged): never committed as "no verity". */
int image_meta_commit_verity(struct boot_state *s, enum boot_slot slot, const char *meta_path);
/* The current time as image_meta wants it. */
void image_meta_now(char buf[32]);
/* meta's facts about the image an install took from p: its source (as
 * given), digest, created, version, the bytes received. Borrowed: valid
 * while p is. */
struct image_meta image_meta_from_pull(const struct pull *p, const char *source);
/* meta->layers from p's (owned: image_meta_free_layers(), or
 * image_meta_done() for metadata read from a file). */
int image_meta_set_layers(struct image_meta *meta, const struct pull *p);
void image_meta_free_layers(struct image_meta *meta);
