/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layer_reader.h"
#include "log.h"
#include "util.h"

#define READ_BUFFER_SIZE (128 * 1024)
#define MAX_XATTRS 256

struct layer_reader {
	struct layer_stream *ls;
	struct archive *archive;
	int stream_error;
	uint64_t stream_bytes;
	struct flatten_xattr xattrs[MAX_XATTRS];
	uint8_t buffer[READ_BUFFER_SIZE];
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && streq(s + a - b, suffix);
}

static ssize_t read_callback(struct archive *a, void *userdata, const void **buf)
{
	struct layer_reader *r = userdata;
	ssize_t n = r->ls->read(r->ls, r->buffer, sizeof(r->buffer));
	if (n < 0) {
		r->stream_error = (int) n;
		archive_set_error(a, (int) -n, "layer stream failed");
		return -1;
	}
	r->stream_bytes += (uint64_t) n;
	*buf = r->buffer;
	return n;
}

/* Map libarchive's failure to our errno: the stream's own error wins (a
 * digest mismatch must surface as such), anything else is a bad archive. */
static int archive_failure(struct layer_reader *r, const char *what)
{
	if (r->stream_error < 0)
		return r->stream_error; /* the producer logged it */
	return log_error_errno(-EBADMSG, "Layer %s: %s: %s", r->ls->digest, what,
	                       archive_error_string(r->archive) ?: "unknown error");
}

int layer_reader_open(struct layer_stream *ls, struct layer_reader **ret)
{
	_cleanup_(layer_reader_freep) struct layer_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ls = ls;
	r->archive = archive_read_new();
	if (!r->archive)
		return -ENOMEM;

	const char *mt = ls->media_type ?: "";
	if (ends_with(mt, "+gzip") || ends_with(mt, ".gzip"))
		archive_read_support_filter_gzip(r->archive);
	else if (ends_with(mt, "+zstd") || ends_with(mt, ".zstd"))
		archive_read_support_filter_zstd(r->archive);
	else if (!ends_with(mt, ".tar"))
		return log_error_errno(-EPROTONOSUPPORT, "Layer %s: unsupported media type '%s'",
		                       ls->digest, mt);
	/* Only POSIX/GNU tar: archive_read_support_format_all would accept
	 * formats no image builder produces. */
	archive_read_support_format_tar(r->archive);
	archive_read_support_format_gnutar(r->archive);

	if (archive_read_open(r->archive, r, NULL, read_callback, NULL) != ARCHIVE_OK)
		return archive_failure(r, "cannot read the archive");
	*ret = TAKE_PTR(r);
	return 0;
}

int layer_reader_next(struct layer_reader *r, struct flatten_entry *e)
{
	struct archive_entry *ae;
	int a = archive_read_next_header(r->archive, &ae);
	if (a == ARCHIVE_EOF)
		return 0;
	/* ARCHIVE_WARN: e.g. a name not convertible to the locale; we use raw bytes. */
	if (a != ARCHIVE_OK && a != ARCHIVE_WARN)
		return archive_failure(r, "malformed tar");

	memset(e, 0, sizeof(*e));
	e->path = archive_entry_pathname(ae) ?: archive_entry_pathname_utf8(ae);
	if (!e->path)
		return log_error_errno(-EBADMSG, "Layer %s: entry without a name", r->ls->digest);
	e->mode = archive_entry_mode(ae);
	e->uid = archive_entry_uid(ae);
	e->gid = archive_entry_gid(ae);
	e->mtime = archive_entry_mtime(ae);
	e->rdev = archive_entry_rdev(ae);
	e->size = archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0
	                  ? (uint64_t) archive_entry_size(ae)
	                  : 0;
	e->hardlink_target = archive_entry_hardlink(ae) ?: archive_entry_hardlink_utf8(ae);
	if (S_ISLNK(e->mode)) {
		e->symlink_target = archive_entry_symlink(ae) ?: archive_entry_symlink_utf8(ae);
		if (!e->symlink_target)
			return log_error_errno(-EBADMSG, "Layer %s: symlink '%s' has no target",
			                       r->ls->digest, e->path);
	}

	size_t n = 0;
	const char *key;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &key, &value, &size) == ARCHIVE_OK) {
		if (n == MAX_XATTRS)
			return log_error_errno(-EBADMSG, "Layer %s: entry '%s' has over %d xattrs",
			                       r->ls->digest, e->path, MAX_XATTRS);
		r->xattrs[n++] = (struct flatten_xattr){ .key = key, .value = value, .size = size };
	}
	e->xattrs = r->xattrs;
	e->n_xattrs = n;
	return 1;
}

int layer_reader_read_data(struct layer_reader *r, const void **buf, size_t *size, int64_t *offset)
{
	la_int64_t off;
	int a = archive_read_data_block(r->archive, buf, size, &off);
	if (a == ARCHIVE_EOF)
		return 0;
	if (a != ARCHIVE_OK && a != ARCHIVE_WARN)
		return archive_failure(r, "cannot read file data");
	*offset = off;
	return 1;
}

int layer_reader_finish(struct layer_reader *r)
{
	for (;;) {
		ssize_t n = r->ls->read(r->ls, r->buffer, sizeof(r->buffer));
		if (n < 0)
			return (int) n;
		if (n == 0)
			return 0;
		r->stream_bytes += (uint64_t) n;
	}
}

uint64_t layer_reader_stream_bytes(const struct layer_reader *r)
{
	return r->stream_bytes;
}

void layer_reader_free(struct layer_reader *r)
{
	if (r->archive)
		archive_read_free(r->archive);
	free(r);
}
