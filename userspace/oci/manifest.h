/* SPDX-License-Identifier: Apache-2.0 */
/* OCI and Docker manifests and indexes (manifest lists), and choosing a
 * platform from an index. Parsers are pure functions over a buffer (no I/O,
 * no logging above debug) so fuzz targets can drive them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_TYPE_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_TYPE_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_TYPE_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_TYPE_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_TYPE_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* What we ask registries for; never schema1. */
#define MANIFEST_ACCEPT \
	MEDIA_TYPE_OCI_INDEX ", " MEDIA_TYPE_OCI_MANIFEST ", " MEDIA_TYPE_DOCKER_LIST ", " MEDIA_TYPE_DOCKER_MANIFEST

/* Registries cap manifests far below this; a bigger body is an attack. */
#define MANIFEST_SIZE_MAX (4u * 1024 * 1024)

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

struct platform {
	char *os;
	char *architecture;
	char *variant; /* NULL when none */
};

struct descriptor {
	char *media_type;
	char *digest; /* validated */
	uint64_t size;
	struct platform platform; /* index entries only; fields may be NULL */
};

struct manifest {
	enum manifest_kind kind;
	char *media_type;
	struct descriptor config;   /* images only */
	struct descriptor *entries; /* layers (image, bottom first) or manifests (index) */
	size_t n_entries;
};

/* Parses a manifest or index. media_type is the Content-Type (parameters
 * ignored) or the referring descriptor's type; NULL or a generic JSON type
 * means "look at the body". Errors: -EPROTONOSUPPORT for schema1 and
 * unknown types (ret->media_type is not set then; see
 * manifest_detect_media_type()), -EBADMSG for malformed JSON or descriptors. */
int manifest_parse(const void *buf, size_t size, const char *media_type, struct manifest *ret);
void manifest_done(struct manifest *m);

/* The media type a manifest would be dispatched on, for error messages;
 * owned by the caller. */
char *manifest_detect_media_type(const void *buf, size_t size, const char *media_type);

/* Copies the media type without parameters ("a/b; charset=x" -> "a/b"). */
char *media_type_strip(const char *content_type);

bool layer_media_type_is_supported(const char *media_type);

/* "os/arch[/variant]". */
int platform_parse(const char *s, struct platform *ret);
/* The running machine, in GOOS/GOARCH terms. */
int platform_native(struct platform *ret);
void platform_done(struct platform *p);
/* "linux/arm64/v8"; owned by the caller. */
char *platform_to_string(const struct platform *p);

/* Index of the entry of index for want, or -ENOENT. Attestation entries
 * ("unknown/unknown") never match. */
int manifest_choose_platform(const struct manifest *index, const struct platform *want, size_t *ret);
/* "linux/amd64, linux/arm64/v8" for error messages; owned by the caller. */
char *manifest_list_platforms(const struct manifest *index);
