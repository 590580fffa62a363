/* SPDX-License-Identifier: Apache-2.0 */
#include "docker_archive.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "tar_archive.h"
#include "util.h"

/* Image configs are small JSON documents, as in pull_source.c. */
#define CONFIG_SIZE_MAX (16u * 1024 * 1024)
#define LAYERS_MAX 1024u

struct blob_file {
	char digest[DIGEST_STRING_MAX];
	char *path;
};

struct docker_archive {
	struct tar_archive *tar;
	char *manifest; /* the registry manifest made from manifest.json */
	size_t manifest_size;
	char manifest_digest[DIGEST_STRING_MAX];
	struct blob_file *blobs; /* [0] the config, then the layers */
	size_t n_blobs;
};

static void docker_archive_free(struct docker_archive *d)
{
	if (!d)
		return;
	tar_archive_free(d->tar);
	free(d->manifest);
	for (size_t i = 0; i < d->n_blobs; i++)
		free(d->blobs[i].path);
	free(d->blobs);
	free(d);
}
static inline void docker_archive_freep(struct docker_archive **d)
{
	docker_archive_free(*d);
}

static int fetch_manifest(void *ctx, const char *object, unsigned flags, char **ret_body, size_t *ret_size,
			  char **ret_media_type, char ret_digest[static DIGEST_STRING_MAX])
{
	struct docker_archive *d = ctx;
	/* One image and nothing else: no signature tags, no other digest. */
	if (object && !streq(object, d->manifest_digest)) {
		if (!(flags & MANIFEST_MAY_BE_MISSING))
			log_error("%s holds one image (%s), not %s", tar_archive_name(d->tar), d->manifest_digest,
				  object);
		return -ENOENT;
	}
	*ret_body = malloc(d->manifest_size + 1);
	*ret_media_type = strdup(MEDIA_TYPE_DOCKER_MANIFEST);
	if (!*ret_body || !*ret_media_type) {
		free(*ret_body);
		free(*ret_media_type);
		return -ENOMEM;
	}
	memcpy(*ret_body, d->manifest, d->manifest_size + 1);
	*ret_size = d->manifest_size;
	memcpy(ret_digest, d->manifest_digest, DIGEST_STRING_MAX);
	return 0;
}

static int produce_blob(void *ctx, const struct descriptor *desc, blob_sink_t sink, void *sink_ctx)
{
	struct docker_archive *d = ctx;
	const struct blob_file *f = NULL;
	for (size_t i = 0; i < d->n_blobs && !f; i++)
		if (streq(d->blobs[i].digest, desc->digest))
			f = &d->blobs[i];
	if (!f)
		return log_error_errno(-ENOENT, "%s has no blob %s", tar_archive_name(d->tar), desc->digest);
	struct digest_sink h = { .next = sink, .next_userdata = sink_ctx };
	int r = digest_init(&h.md);
	if (r < 0)
		return r;
	r = tar_archive_produce(d->tar, f->path, desc->size, digest_sink_push, &h);
	char got[DIGEST_STRING_MAX];
	if (r >= 0)
		r = digest_final(&h.md, got);
	if (r >= 0 && !streq(got, desc->digest))
		r = log_error_errno(-EBADMSG,
				    "Digest mismatch for %s in %s: its bytes hash to %s, the image config "
				    "says %s%s",
				    f == d->blobs ? "the config" : "a layer", tar_archive_name(d->tar), got,
				    desc->digest,
				    f == d->blobs ? "" : " (its rootfs.diff_id; layers must be uncompressed tars)");
	digest_done(&h.md);
	return r;
}

/* The digest a blob's name carries: "blobs/sha256/HEX" (docker save since
 * v25) or "HEX.json" (older docker save, skopeo); NULL when none. */
static bool name_digest(const char *path, char out[static DIGEST_STRING_MAX])
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t len = strlen(base);
	if (len != 64 && !(len == 69 && streq(base + 64, ".json")))
		return false;
	snprintf(out, DIGEST_STRING_MAX, "%s%.64s", DIGEST_SHA256_PREFIX, base);
	return digest_is_valid(out);
}

static int add_blob(struct docker_archive *d, const char *digest, const char *path)
{
	struct blob_file *b = reallocarray(d->blobs, d->n_blobs + 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	d->blobs = b;
	b = &d->blobs[d->n_blobs];
	snprintf(b->digest, sizeof(b->digest), "%s", digest);
	b->path = strdup(path);
	if (!b->path)
		return -ENOMEM;
	d->n_blobs++;
	return 0;
}

static bool has_tag(json_t *image, const char *ref)
{
	size_t i;
	json_t *t;
	/* docker and skopeo write Docker Hub names in full. */
	json_array_foreach(json_object_get(image, "RepoTags"), i, t)
	{
		const char *s = json_string_value(t);
		if (!s)
			continue;
		if (streq(s, ref))
			return true;
		if (strncmp(s, "docker.io/", 10) == 0)
			s += 10;
		if (streq(s, ref) || (strncmp(s, "library/", 8) == 0 && streq(s + 8, ref)))
			return true;
	}
	return false;
}

static char *list_tags(json_t *images)
{
	_cleanup_free_ char *s = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&s, &size);
	if (!f)
		return NULL;
	size_t i, j;
	json_t *image, *t;
	json_array_foreach(images, i, image)
	{
		json_t *tags = json_object_get(image, "RepoTags");
		json_array_foreach(tags, j, t)
		{
			if (json_string_value(t))
				fprintf(f, "%s%s", ftell(f) ? ", " : "", json_string_value(t));
		}
	}
	fclose(f);
	return TAKE_PTR(s);
}

static int choose_image(struct docker_archive *d, json_t *images, const char *ref, json_t **ret)
{
	const char *name = tar_archive_name(d->tar);
	if (!json_is_array(images) || json_array_size(images) == 0)
		return log_error_errno(-EBADMSG, "manifest.json of %s is not a list of images", name);
	*ret = !ref && json_array_size(images) == 1 ? json_array_get(images, 0) : NULL;
	size_t i;
	json_t *image;
	json_array_foreach(images, i, image)
	{
		if (!*ret && ref && has_tag(image, ref))
			*ret = image;
	}
	if (*ret)
		return 0;
	_cleanup_free_ char *tags = list_tags(images);
	if (ref)
		log_error("%s has no image tagged %s; it has: %s", name, ref, tags && *tags ? tags : "(no tags)");
	else
		log_error("%s holds %zu images: name one as docker-archive:FILE:REF; it has: %s", name,
			  json_array_size(images), tags && *tags ? tags : "(no tags)");
	return -ENOENT;
}

/* manifest.json's entry and the config's diff_ids into a registry manifest. */
static int make_manifest(struct docker_archive *d, json_t *image)
{
	const char *name = tar_archive_name(d->tar);
	const char *config_path = json_string_value(json_object_get(image, "Config"));
	json_t *layers = json_object_get(image, "Layers");
	if (!config_path || !json_is_array(layers))
		return log_error_errno(-EBADMSG, "manifest.json of %s lacks Config or Layers", name);
	if (json_array_size(layers) == 0 || json_array_size(layers) > LAYERS_MAX)
		return log_error_errno(-EBADMSG, "manifest.json of %s lists %zu layers (1 to %u accepted)", name,
				       json_array_size(layers), LAYERS_MAX);

	_cleanup_free_ char *config = NULL;
	size_t config_size;
	int r = tar_archive_read_small(d->tar, config_path, CONFIG_SIZE_MAX, &config, &config_size);
	if (r < 0)
		return r;
	char config_digest[DIGEST_STRING_MAX], named[DIGEST_STRING_MAX];
	r = digest_buffer(config, config_size, config_digest);
	if (r < 0)
		return r;
	if (name_digest(config_path, named) && !streq(named, config_digest))
		return log_error_errno(-EBADMSG, "Digest mismatch for the config %s in %s: its bytes hash to %s", named,
				       name, config_digest);
	r = add_blob(d, config_digest, config_path);
	if (r < 0)
		return r;

	json_error_t error;
	json_t *cfg = json_loadb(config, config_size, JSON_REJECT_DUPLICATES, &error);
	json_t *diff_ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
			      MEDIA_TYPE_DOCKER_MANIFEST, "config", "mediaType",
			      "application/vnd.docker.container.image.v1+json", "digest", config_digest, "size",
			      (json_int_t) config_size, "layers");
	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != json_array_size(layers))
		r = log_error_errno(-EBADMSG,
				    "The config of %s has %zu rootfs.diff_ids for %zu layers in manifest.json", name,
				    json_array_size(diff_ids), json_array_size(layers));
	else if (!m)
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < json_array_size(layers); i++) {
		const char *path = json_string_value(json_array_get(layers, i));
		const char *diff_id = json_string_value(json_array_get(diff_ids, i));
		uint64_t size;
		if (!path || !diff_id || !digest_is_valid(diff_id))
			r = log_error_errno(-EBADMSG, "Layer %zu of %s has no valid path or rootfs.diff_id", i, name);
		else if ((r = tar_archive_find(d->tar, path, &size)) < 0)
			r = log_error_errno(r, "Layer %zu of %s, which manifest.json lists, %s", i, name,
					    r == -ELOOP ? "is a link, which is never followed"
							: "is not in the archive");
		else if ((r = add_blob(d, diff_id, path)) >= 0)
			r = json_array_append_new(json_object_get(m, "layers"),
						  json_pack("{s:s, s:s, s:I}", "mediaType",
							    "application/vnd.docker.image.rootfs.diff.tar", "digest",
							    diff_id, "size", (json_int_t) size)) < 0
				    ? -ENOMEM
				    : 0;
	}
	if (r >= 0) {
		d->manifest = json_dumps(m, JSON_COMPACT);
		d->manifest_size = d->manifest ? strlen(d->manifest) : 0;
		r = d->manifest ? digest_buffer(d->manifest, d->manifest_size, d->manifest_digest) : -ENOMEM;
	}
	json_decref(m);
	json_decref(cfg);
	return r;
}

/* "FILE[:REF]": REF has colons of its own, so FILE is the shortest prefix
 * that names an existing file, else the whole. */
static int split_spec(const char *spec, char **ret_file, char **ret_ref)
{
	_cleanup_free_ char *file = strdup(spec);
	if (!file)
		return -ENOMEM;
	*ret_ref = NULL;
	struct stat st;
	for (char *c = strchr(file, ':'); c; c = strchr(c + 1, ':')) {
		*c = '\0';
		if (streq(file, "-") || stat(file, &st) >= 0) {
			if (c[1] && !(*ret_ref = strdup(c + 1)))
				return -ENOMEM;
			break;
		}
		*c = ':';
	}
	*ret_file = TAKE_PTR(file);
	return 0;
}

int docker_archive_open(const char *spec, struct manifest_store *ret_store, char **ret_object)
{
	_cleanup_free_ char *file = NULL, *ref = NULL;
	int r = split_spec(spec, &file, &ref);
	if (r < 0)
		return r;
	_cleanup_(docker_archive_freep) struct docker_archive *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = tar_archive_open(file, "docker-archive", &d->tar);
	if (r < 0)
		return r;
	_cleanup_free_ char *json = NULL;
	size_t size;
	r = tar_archive_read_small(d->tar, "manifest.json", MANIFEST_SIZE_MAX, &json, &size);
	if (r < 0)
		return r;
	json_error_t error;
	json_t *images = json_loadb(json, size, JSON_REJECT_DUPLICATES, &error);
	if (!images)
		r = log_error_errno(-EBADMSG, "manifest.json of %s is not valid JSON: %s", tar_archive_name(d->tar),
				    error.text);
	json_t *image = NULL;
	if (images)
		r = choose_image(d, images, ref, &image);
	if (image)
		r = make_manifest(d, image);
	json_decref(images);
	if (r < 0)
		return r;
	*ret_store = (struct manifest_store){
		.name = tar_archive_name(d->tar),
		.fetch_manifest = fetch_manifest,
		.produce_blob = produce_blob,
		.ctx = TAKE_PTR(d),
	};
	*ret_object = NULL;
	return 0;
}

void docker_archive_close(struct manifest_store *store)
{
	docker_archive_free(store->ctx);
	store->ctx = NULL;
}
