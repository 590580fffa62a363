/* SPDX-License-Identifier: Apache-2.0 */
#include "oci_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "tar_archive.h"
#include "util.h"

#define READ_CHUNK (256 * 1024)
#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

struct oci_layout {
	char *dir;
	char *name;
	int dir_fd;
	struct tar_archive *tar; /* oci-archive: the layout's files are in this tar */
};

/* Reads a whole small file below the layout, refusing more than max. */
static int read_small(struct oci_layout *l, const char *path, size_t max, char **ret, size_t *ret_size)
{
	if (l->tar)
		return tar_archive_read_small(l->tar, path, max, ret, ret_size);
	_cleanup_close_ int fd = openat(l->dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return log_error_errno(-errno, "Cannot open %s in OCI layout %s: %m", path, l->dir);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size > max)
		return log_error_errno(-EFBIG, "%s in OCI layout %s is not a regular file of at most %zu bytes", path,
				       l->dir, max);
	_cleanup_free_ char *buf = malloc((size_t) st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	while (n < (size_t) st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);
		if (k < 0)
			return log_error_errno(-errno, "Cannot read %s in OCI layout %s: %m", path, l->dir);
		if (k == 0)
			break;
		n += (size_t) k;
	}
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_size = n;
	return 0;
}

static int blob_path(const char *digest, char **ret)
{
	if (!digest_is_valid(digest)) {
		log_error("Invalid digest '%s'", digest);
		return -EINVAL;
	}
	return asprintf(ret, "blobs/sha256/%s", digest + strlen(DIGEST_SHA256_PREFIX)) < 0 ? -ENOMEM : 0;
}

static int read_manifest_blob(struct oci_layout *l, const char *digest, char **ret_body, size_t *ret_size,
			      char ret_digest[static DIGEST_STRING_MAX])
{
	_cleanup_free_ char *path = NULL;
	int r = blob_path(digest, &path);
	if (r < 0)
		return r;
	r = read_small(l, path, MANIFEST_SIZE_MAX, ret_body, ret_size);
	if (r < 0)
		return r;
	r = digest_buffer(*ret_body, *ret_size, ret_digest);
	if (r >= 0 && !streq(ret_digest, digest))
		r = log_error_errno(-EBADMSG, "Digest mismatch for manifest %s in %s: its bytes hash to %s", digest,
				    l->name, ret_digest);
	if (r < 0) {
		free(*ret_body);
		*ret_body = NULL;
	}
	return r;
}

/* index.json names images by tag in an annotation, which the generic
 * parser does not keep: find the descriptor here. */
static int find_tag(struct oci_layout *l, const char *index, size_t size, const char *tag, unsigned flags,
		    char **ret_digest, char **ret_media_type)
{
	json_error_t error;
	json_t *root = json_loadb(index, size, JSON_REJECT_DUPLICATES, &error);
	json_t *manifests = json_object_get(root, "manifests");
	int r = -ENOENT;
	size_t i;
	json_t *d;
	_cleanup_free_ char *tags = NULL;
	size_t tags_size = 0;
	FILE *f = open_memstream(&tags, &tags_size);
	json_array_foreach(manifests, i, d)
	{
		const char *name =
			json_string_value(json_object_get(json_object_get(d, "annotations"), REF_NAME_ANNOTATION));
		if (f && name)
			fprintf(f, "%s%s", ftell(f) ? ", " : "", name);
		if (r == -ENOENT && streq_ptr(name, tag)) {
			const char *digest = json_string_value(json_object_get(d, "digest"));
			const char *type = json_string_value(json_object_get(d, "mediaType"));
			*ret_digest = digest ? strdup(digest) : NULL;
			*ret_media_type = type ? strdup(type) : NULL;
			r = *ret_digest ? 0 : -EBADMSG;
		}
	}
	if (f)
		fclose(f);
	json_decref(root);
	if (r == -ENOENT && !(flags & MANIFEST_MAY_BE_MISSING))
		log_error("Tag %s not found in %s; it has: %s", tag, l->name, tags && *tags ? tags : "(no tags)");
	else if (r == -EBADMSG)
		log_error("index.json of %s is malformed", l->name);
	return r;
}

static int layout_fetch_manifest(void *ctx, const char *object, unsigned flags, char **ret_body, size_t *ret_size,
				 char **ret_media_type, char ret_digest[static DIGEST_STRING_MAX])
{
	struct oci_layout *l = ctx;
	if (object && digest_is_valid(object)) {
		*ret_media_type = NULL;
		return read_manifest_blob(l, object, ret_body, ret_size, ret_digest);
	}

	_cleanup_free_ char *index = NULL;
	size_t size = 0;
	int r = read_small(l, "index.json", MANIFEST_SIZE_MAX, &index, &size);
	if (r < 0)
		return r;

	if (!object) {
		/* No tag: the layout's index itself is the start, so one image
		 * is taken as is and several are told apart by platform. */
		struct manifest m = {};
		r = manifest_parse(index, size, MEDIA_TYPE_OCI_INDEX, &m);
		if (r < 0)
			return log_error_errno(-EBADMSG, "index.json of %s is malformed", l->name);
		bool single = m.n_entries == 1;
		manifest_done(&m);
		if (!single) {
			r = digest_buffer(index, size, ret_digest);
			if (r < 0)
				return r;
			*ret_media_type = strdup(MEDIA_TYPE_OCI_INDEX);
			*ret_body = TAKE_PTR(index);
			*ret_size = size;
			return *ret_media_type ? 0 : -ENOMEM;
		}
	}

	_cleanup_free_ char *digest = NULL, *media_type = NULL;
	if (object)
		r = find_tag(l, index, size, object, flags, &digest, &media_type);
	else {
		json_error_t error;
		json_t *root = json_loadb(index, size, 0, &error);
		json_t *d = json_array_get(json_object_get(root, "manifests"), 0);
		const char *s = json_string_value(json_object_get(d, "digest"));
		const char *t = json_string_value(json_object_get(d, "mediaType"));
		digest = s ? strdup(s) : NULL;
		media_type = t ? strdup(t) : NULL;
		json_decref(root);
		r = digest ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	r = read_manifest_blob(l, digest, ret_body, ret_size, ret_digest);
	if (r < 0)
		return r;
	*ret_media_type = TAKE_PTR(media_type);
	return 0;
}

static int produce_file(struct oci_layout *l, const char *path, const struct descriptor *d, blob_sink_t sink,
			void *sink_ctx)
{
	if (l->tar)
		return tar_archive_produce(l->tar, path, d->size, sink, sink_ctx);
	_cleanup_close_ int fd = openat(l->dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return log_error_errno(-errno, "Cannot open blob %s in OCI layout %s: %m", d->digest, l->dir);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size != d->size)
		return log_error_errno(-EBADMSG,
				       "Size mismatch for blob %s in OCI layout %s: %lld bytes, the manifest "
				       "says %llu",
				       d->digest, l->dir, (long long) st.st_size, (unsigned long long) d->size);
	_cleanup_free_ char *buf = malloc(READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	uint64_t left = d->size;
	int r = 0;
	while (left > 0 && r >= 0) {
		ssize_t n = read(fd, buf, left < READ_CHUNK ? (size_t) left : READ_CHUNK);
		if (n < 0)
			r = log_error_errno(-errno, "Cannot read blob %s in OCI layout %s: %m", d->digest, l->dir);
		else if (n == 0)
			r = log_error_errno(-EBADMSG, "Blob %s in OCI layout %s is shorter than its %llu bytes",
					    d->digest, l->dir, (unsigned long long) d->size);
		else {
			left -= (uint64_t) n;
			r = sink(sink_ctx, buf, (size_t) n);
		}
	}
	return r;
}

static int layout_produce_blob(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	struct oci_layout *l = ctx;
	_cleanup_free_ char *path = NULL;
	int r = blob_path(d->digest, &path);
	if (r < 0)
		return r;
	struct digest_sink h = { .next = sink, .next_userdata = sink_ctx };
	r = digest_init(&h.md);
	if (r < 0)
		return r;
	r = produce_file(l, path, d, digest_sink_push, &h);
	char got[DIGEST_STRING_MAX];
	if (r >= 0)
		r = digest_final(&h.md, got);
	if (r >= 0 && !streq(got, d->digest))
		r = log_error_errno(-EBADMSG, "Digest mismatch for blob %s in %s: its bytes hash to %s", d->digest,
				    l->name, got);
	digest_done(&h.md);
	return r;
}

int source_spec_split(const char *spec, char **ret_path, char **ret_tag)
{
	_cleanup_free_ char *path = strdup(spec);
	if (!path)
		return -ENOMEM;
	struct stat st;
	/* A ':' may belong to the file's name: split only if the whole does
	 * not exist. */
	char *colon = strrchr(path, ':');
	char *tag = NULL;
	if (colon && !strchr(colon, '/') && stat(path, &st) < 0) {
		*colon = '\0';
		tag = colon + 1;
	}
	*ret_tag = NULL;
	if (tag && *tag && !(*ret_tag = strdup(tag)))
		return -ENOMEM;
	*ret_path = TAKE_PTR(path);
	return 0;
}

static int layout_new(const char *what, const char *path, int dir_fd, struct tar_archive *tar,
		      struct manifest_store *ret_store)
{
	struct oci_layout *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->dir = strdup(path);
	if (!l->dir || asprintf(&l->name, "%s %s", what, path) < 0) {
		free(l->dir);
		free(l);
		return -ENOMEM;
	}
	l->dir_fd = dir_fd;
	l->tar = tar;
	*ret_store = (struct manifest_store){
		.name = l->name,
		.fetch_manifest = layout_fetch_manifest,
		.produce_blob = layout_produce_blob,
		.ctx = l,
	};
	return 0;
}

int oci_layout_open(const char *spec, struct manifest_store *ret_store, char **ret_object)
{
	_cleanup_free_ char *dir = NULL, *tag = NULL;
	int r = source_spec_split(spec, &dir, &tag);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(-errno, "Cannot open OCI layout %s: %m", dir);
	if (faccessat(fd, "oci-layout", F_OK, 0) < 0)
		return log_error_errno(-EINVAL, "%s is not an OCI image layout (no oci-layout file)", dir);
	r = layout_new("OCI layout", dir, fd, NULL, ret_store);
	if (r < 0)
		return r;
	TAKE_FD(fd);
	*ret_object = TAKE_PTR(tag);
	return 0;
}

int oci_archive_open(const char *spec, struct manifest_store *ret_store, char **ret_object)
{
	_cleanup_free_ char *file = NULL, *tag = NULL;
	int r = source_spec_split(spec, &file, &tag);
	if (r < 0)
		return r;
	_cleanup_(tar_archive_freep) struct tar_archive *tar = NULL;
	r = tar_archive_open(file, "oci-archive", &tar);
	if (r < 0)
		return r;
	uint64_t size;
	if (tar_archive_find(tar, "oci-layout", &size) < 0)
		return log_error_errno(-EINVAL, "%s is not a tar of an OCI image layout (no oci-layout file)",
				       tar_archive_name(tar));
	r = layout_new("oci-archive", streq(file, "-") ? "(standard input)" : file, -1, tar, ret_store);
	if (r < 0)
		return r;
	TAKE_PTR(tar);
	*ret_object = TAKE_PTR(tag);
	return 0;
}

void oci_layout_close(struct manifest_store *store)
{
	struct oci_layout *l = store->ctx;
	if (!l)
		return;
	if (l->dir_fd >= 0)
		close(l->dir_fd);
	tar_archive_free(l->tar);
	free(l->dir);
	free(l->name);
	free(l);
	store->ctx = NULL;
}
