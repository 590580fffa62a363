/* SPDX-License-Identifier: Apache-2.0 */
#include "pull_source.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image_config.h"
#include "layer_spool.h"
#include "log.h"
#include "membuf.h"
#include "util.h"

/* An index may point at another index; real images nest at most once. */
#define INDEX_DEPTH_MAX 3
/* Image configs are small JSON documents; bound what we hold in memory. */
#define CONFIG_SIZE_MAX (16u * 1024 * 1024)

struct pull_source {
	struct image_source src;
	const struct manifest_store *store;
	struct progress *progress;
	struct manifest manifest;
	char *created, *version;              /* from the config (image_config.h), or NULL */
	char index_digest[DIGEST_STRING_MAX]; /* "" when not reached through an index */
	char *spool_dir;                      /* where keep_layers() keeps them; NULL: nowhere */
	struct layer_spool *spool;
	_Atomic uint64_t store_bytes; /* read from a local store (no transport to count) */
};

/* Counts what the builder reads; the end of a layer is its verdict. */
struct counted_stream {
	struct layer_stream stream;
	struct layer_stream *inner;
	struct pull_source *ps;
	size_t index;
	bool kept; /* read back from the spool: nothing was received */
};

static ssize_t counted_read(struct layer_stream *ls, void *buf, size_t size)
{
	struct counted_stream *cs = ls->userdata;
	struct pull_source *ps = cs->ps;
	ssize_t n = cs->inner->read(cs->inner, buf, size);
	if (n > 0 && ps->store->bytes_received)
		progress_set_bytes(ps->progress, ps->store->bytes_received(ps->store->ctx));
	else if (n > 0 && !cs->kept) {
		ps->store_bytes += (uint64_t) n;
		progress_add_bytes(ps->progress, (uint64_t) n);
	} else if (n == 0)
		progress_layer_done(cs->ps->progress, cs->index);
	return n;
}

static void counted_close(struct layer_stream *ls)
{
	struct counted_stream *cs = ls->userdata;
	cs->inner->close(cs->inner);
	free(cs);
}

static int open_layer(struct image_source *src, size_t index, struct layer_stream **ret)
{
	struct pull_source *ps = src->userdata;
	if (index >= ps->manifest.n_entries)
		return -EINVAL;
	struct counted_stream *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	int r = layer_spool_open(ps->spool, index, &cs->inner, &cs->kept);
	if (r >= 0 && !cs->inner)
		r = blob_stream_new(&ps->manifest.entries[index], ps->store->produce_blob, ps->store->ctx, &cs->inner);
	if (r < 0) {
		free(cs);
		return log_error_errno(r, "Failed to start reading layer %s: %m", ps->manifest.entries[index].digest);
	}
	cs->ps = ps;
	cs->index = index;
	cs->stream = *cs->inner;
	cs->stream.read = counted_read;
	cs->stream.close = counted_close;
	cs->stream.userdata = cs;
	*ret = &cs->stream;
	return 0;
}

static int keep_layers(struct image_source *src, size_t first)
{
	struct pull_source *ps = src->userdata;
	/* a local store is read again cheaper than copied */
	if (!ps->spool_dir || !ps->store->bytes_received)
		return 0;
	if (ps->spool && layer_spool_first(ps->spool) <= first)
		return 1;
	/* kept from higher up (a build that reused the lower layers gave up):
	 * from first on, anew */
	ps->spool = layer_spool_free(ps->spool);
	int r = layer_spool_new(ps->spool_dir, &ps->manifest, first, ps->store, &ps->spool);
	return r < 0 ? r : 1;
}

static const char *layer_digest(struct image_source *src, size_t index)
{
	struct pull_source *ps = src->userdata;
	return index < ps->manifest.n_entries ? ps->manifest.entries[index].digest : NULL;
}

static uint64_t layer_size(struct image_source *src, size_t index)
{
	struct pull_source *ps = src->userdata;
	return index < ps->manifest.n_entries ? ps->manifest.entries[index].size : 0;
}

static int parse_fetched(const struct manifest_store *store, const char *object, const char *body, size_t size,
			 const char *media_type, struct manifest *ret)
{
	int r = manifest_parse(body, size, media_type, ret);
	if (r == -EPROTONOSUPPORT) {
		_cleanup_free_ char *t = manifest_detect_media_type(body, size, media_type);
		bool schema1 = t && (streq(t, MEDIA_TYPE_DOCKER_SCHEMA1) || streq(t, MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED));
		return log_error_errno(
			r, "Manifest %s in %s has unsupported media type %s%s", object, store->name, t ?: "(unknown)",
			schema1 ? ": Docker schema 1 is deprecated; re-push the image with a current tool"
				: ": expected an OCI or Docker schema 2 manifest or index");
	}
	if (r == -EBADMSG)
		return log_error_errno(r, "Manifest %s in %s is malformed (invalid JSON, descriptor or digest)", object,
				       store->name);
	if (r < 0)
		return log_error_errno(r, "Failed to parse manifest %s: %m", object);
	return 0;
}

/* The config, read for every image before any layer: its age for the
 * anti-downgrade rule (image_config.h), and for an image that is not in an
 * index (check_platform) its platform, said only there. Installing another
 * architecture's OS is never what was meant: refuse it when the platform
 * was asked for, warn when it was the default. */
static int read_config(const struct manifest_store *store, const struct manifest *m, const struct platform *want,
		       bool explicit, bool check_platform, char **ret_created, char **ret_version)
{
	if (m->config.size > CONFIG_SIZE_MAX)
		return log_error_errno(-EFBIG, "Image config %s is %llu bytes, more than we accept", m->config.digest,
				       (unsigned long long) m->config.size);
	/* Producers stop at the descriptor's size already: the limit is a backstop. */
	struct membuf config = MEMBUF_INIT((size_t) m->config.size);
	int r = store->produce_blob(store->ctx, &m->config, membuf_sink, &config);
	if (r < 0) {
		membuf_done(&config);
		return r;
	}
	json_error_t error;
	json_t *root = json_loadb(config.data ?: "", config.size, 0, &error);
	membuf_done(&config);
	r = image_config_age(root, ret_created, ret_version);
	if (r < 0 || !check_platform) {
		json_decref(root);
		return r;
	}
	struct platform have = {
		.os = (char *) json_string_value(json_object_get(root, "os")),
		.architecture = (char *) json_string_value(json_object_get(root, "architecture")),
		.variant = (char *) json_string_value(json_object_get(root, "variant")),
	};
	struct manifest one = { .kind = MANIFEST_INDEX,
				.entries = &(struct descriptor){ .platform = have },
				.n_entries = 1 };
	size_t unused;
	r = 0;
	if (have.os && have.architecture && manifest_choose_platform(&one, want, &unused) < 0) {
		_cleanup_free_ char *h = platform_to_string(&have), *w = platform_to_string(want);
		if (explicit)
			r = log_error_errno(-ENOENT, "Image in %s is for platform %s, not %s", store->name, h ?: "?",
					    w ?: "?");
		else
			log_warning("Image in %s is for platform %s, this machine is %s", store->name, h ?: "?",
				    w ?: "?");
	}
	json_decref(root);
	return r;
}

static int resolve(const struct manifest_store *store, const char *object, const struct platform *platform,
		   bool platform_explicit, struct manifest *ret, char ret_digest[static DIGEST_STRING_MAX],
		   char **ret_created, char **ret_version, char ret_index_digest[static DIGEST_STRING_MAX])
{
	_cleanup_free_ char *next = object ? strdup(object) : NULL;
	if (object && !next)
		return -ENOMEM;
	_cleanup_free_ char *next_type = NULL;
	uint64_t next_size = 0;
	bool by_descriptor = false;

	for (unsigned depth = 0; depth < INDEX_DEPTH_MAX; depth++) {
		_cleanup_free_ char *body = NULL, *served_type = NULL;
		size_t size = 0;
		int r = store->fetch_manifest(store->ctx, next, 0, &body, &size, &served_type, ret_digest);
		if (r < 0)
			return r;
		const char *what = next ?: "(default)";
		if (by_descriptor && size != next_size)
			return log_error_errno(-EBADMSG,
					       "Size mismatch for manifest %s: %zu bytes, the index says %llu", what,
					       size, (unsigned long long) next_size);

		struct manifest m = {};
		r = parse_fetched(store, what, body, size, served_type ?: next_type, &m);
		if (r < 0)
			return r;
		if (m.kind == MANIFEST_IMAGE) {
			r = read_config(store, &m, platform, platform_explicit, !by_descriptor, ret_created,
					ret_version);
			if (r < 0) {
				manifest_done(&m);
				return r;
			}
			*ret = m;
			return 0;
		}

		if (depth == 0) /* what the reference named: a signature may name it */
			memcpy(ret_index_digest, ret_digest, DIGEST_STRING_MAX);
		size_t i;
		r = manifest_choose_platform(&m, platform, &i);
		if (r < 0) {
			_cleanup_free_ char *want = platform_to_string(platform);
			_cleanup_free_ char *have = manifest_list_platforms(&m);
			manifest_done(&m);
			return log_error_errno(-ENOENT,
					       "Image %s in %s has no variant for platform %s; it has: %s "
					       "(choose one with --platform)",
					       what, store->name, want ?: "?", have ?: "?");
		}
		free(next);
		free(next_type);
		next = strdup(m.entries[i].digest);
		next_type = m.entries[i].media_type ? strdup(m.entries[i].media_type) : NULL;
		next_size = m.entries[i].size;
		by_descriptor = true;
		manifest_done(&m);
		if (!next)
			return -ENOMEM;
	}
	return log_error_errno(-ELOOP, "Indexes in %s nest too deeply", store->name);
}

int pull_source_new(const struct manifest_store *store, const char *object, const struct platform *platform,
		    bool platform_explicit, struct progress *progress, struct image_source **ret,
		    char ret_digest[static DIGEST_STRING_MAX])
{
	struct pull_source *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->store = store;
	ps->progress = progress;
	int r = resolve(store, object, platform, platform_explicit, &ps->manifest, ret_digest, &ps->created,
			&ps->version, ps->index_digest);
	if (r < 0) {
		free(ps->created);
		free(ps->version);
		free(ps);
		return r;
	}

	/* Refuse before anything is written rather than half-way through. */
	for (size_t i = 0; i < ps->manifest.n_entries; i++) {
		const struct descriptor *d = &ps->manifest.entries[i];
		if (!layer_media_type_is_supported(d->media_type)) {
			r = log_error_errno(-EPROTONOSUPPORT,
					    "Layer %s has unsupported media type %s (supported: tar "
					    "layers, plain, gzip or zstd)",
					    d->digest, d->media_type ?: "(none)");
			pull_source_free(&ps->src);
			return r;
		}
	}
	if (ps->manifest.n_entries == 0) {
		log_error("Image manifest %s has no layers", ret_digest);
		pull_source_free(&ps->src);
		return -EBADMSG;
	}

	ps->src = (struct image_source){
		.n_layers = ps->manifest.n_entries,
		.open_layer = open_layer,
		.layer_digest = layer_digest,
		.layer_size = layer_size,
		.keep_layers = keep_layers,
		.userdata = ps,
	};
	*ret = &ps->src;
	return 0;
}

const char *pull_source_index_digest(const struct image_source *src)
{
	const struct pull_source *ps = (const struct pull_source *) src;
	return ps->index_digest[0] ? ps->index_digest : NULL;
}

struct image_source *pull_source_free(struct image_source *src)
{
	if (!src)
		return NULL;
	struct pull_source *ps = (struct pull_source *) src;
	pull_source_spool_in(src, NULL);
	manifest_done(&ps->manifest);
	free(ps->created);
	free(ps->version);
	free(ps);
	return NULL;
}

const char *pull_source_created(const struct image_source *src)
{
	return ((const struct pull_source *) src)->created;
}

const char *pull_source_version(const struct image_source *src)
{
	return ((const struct pull_source *) src)->version;
}

int pull_source_spool_in(struct image_source *src, const char *dir)
{
	struct pull_source *ps = (struct pull_source *) src;
	ps->spool = layer_spool_free(ps->spool);
	free(ps->spool_dir);
	ps->spool_dir = dir ? strdup(dir) : NULL;
	return !dir || ps->spool_dir ? 0 : -ENOMEM;
}

uint64_t pull_source_bytes_received(const struct image_source *src)
{
	const struct pull_source *ps = (const struct pull_source *) src;
	return ps->store->bytes_received ? ps->store->bytes_received(ps->store->ctx) : ps->store_bytes;
}
