/* SPDX-License-Identifier: Apache-2.0 */
#include "layer_index.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "durable.h"
#include "log.h"
#include "util.h"

#define MAGIC "KAIROSIX"
#define MAGIC_LEN 8
#define HEADER_LEN (MAGIC_LEN + 4)
#define FOOTER_LEN (8 + 32)
#define LEVEL 3
/* An index is a few bytes per entry; FLATTEN_ENTRIES_MAX entries with long
 * names stay well below this. */
#define INDEX_FILE_MAX (512ull * 1024 * 1024)
#define OUT_CHUNK (64 * 1024)
#define SYMLINK_MAX FLATTEN_PATH_MAX

/* ---- writing ---- */

struct layer_index_writer {
	char *path, *tmp_path;
	int fd;
	uint64_t offset; /* bytes written to fd */
	EVP_MD_CTX *md;
	ZSTD_CCtx *zc;
	uint8_t *rec; /* one record, encoded */
	size_t rec_len, rec_cap;
	uint8_t out[OUT_CHUNK];
	bool in_frame;
	uint64_t frame_start, frame_count;
	/* the trailer, built as layers go */
	uint8_t *trailer;
	size_t trailer_len, trailer_cap;
	uint32_t n_layers;
	bool files_started;
	uint64_t last_layer, last_ordinal;
	bool committed;
};

static int grow_buf(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 256;
	while (n < need)
		n *= 2;
	uint8_t *p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

static int put_raw(uint8_t **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
	int r = grow_buf(buf, cap, *len + n);
	if (r < 0)
		return r;
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

static int put_le(uint8_t **buf, size_t *len, size_t *cap, uint64_t v, unsigned bytes)
{
	uint8_t b[8];
	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t) (v >> (8 * i));
	return put_raw(buf, len, cap, b, bytes);
}

static int put_varint(struct layer_index_writer *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		b[n] = (uint8_t) (v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	return put_raw(&w->rec, &w->rec_len, &w->rec_cap, b, n);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t) v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static int put_bytes(struct layer_index_writer *w, const void *data, size_t n)
{
	int r = put_varint(w, n);
	return r < 0 ? r : put_raw(&w->rec, &w->rec_len, &w->rec_cap, data, n);
}

/* A string that may be absent: length + 1, 0 for none. */
static int put_optional(struct layer_index_writer *w, const char *s)
{
	if (!s)
		return put_varint(w, 0);
	size_t n = strlen(s);
	int r = put_varint(w, n + 1);
	return r < 0 ? r : put_raw(&w->rec, &w->rec_len, &w->rec_cap, s, n);
}

static int write_out(struct layer_index_writer *w, const void *data, size_t n)
{
	int r = write_all(w->fd, data, n);
	if (r < 0)
		return log_error_errno(r, "Cannot write %s: %m", w->tmp_path);
	if (EVP_DigestUpdate(w->md, data, n) != 1)
		return -EIO;
	w->offset += n;
	return 0;
}

static int compress(struct layer_index_writer *w, const void *data, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { data, n, 0 };
	for (;;) {
		ZSTD_outBuffer out = { w->out, sizeof(w->out), 0 };
		size_t left = ZSTD_compressStream2(w->zc, &out, &in, mode);
		if (ZSTD_isError(left))
			return log_error_errno(-EIO, "Cannot compress %s: %s", w->tmp_path, ZSTD_getErrorName(left));
		if (out.pos > 0) {
			int r = write_out(w, w->out, out.pos);
			if (r < 0)
				return r;
		}
		if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static int begin_frame(struct layer_index_writer *w)
{
	if (ZSTD_isError(ZSTD_CCtx_reset(w->zc, ZSTD_reset_session_only)))
		return -EIO;
	w->in_frame = true;
	w->frame_start = w->offset;
	w->frame_count = 0;
	return 0;
}

/* Close the open frame and note where it is in the trailer. */
static int end_frame(struct layer_index_writer *w)
{
	if (!w->in_frame)
		return 0;
	int r = compress(w, NULL, 0, ZSTD_e_end);
	if (r < 0)
		return r;
	w->in_frame = false;
	if ((r = put_le(&w->trailer, &w->trailer_len, &w->trailer_cap, w->frame_start, 8)) < 0 ||
	    (r = put_le(&w->trailer, &w->trailer_len, &w->trailer_cap, w->offset - w->frame_start, 8)) < 0 ||
	    (r = put_le(&w->trailer, &w->trailer_len, &w->trailer_cap, w->frame_count, 8)) < 0)
		return r;
	return 0;
}

static int flush_record(struct layer_index_writer *w)
{
	int r = compress(w, w->rec, w->rec_len, ZSTD_e_continue);
	w->rec_len = 0;
	if (r >= 0)
		w->frame_count++;
	return r;
}

int layer_index_writer_new(const char *path, struct layer_index_writer **ret)
{
	_cleanup_(layer_index_writer_freep) struct layer_index_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	_cleanup_free_ char *dcopy = strdup(path), *bcopy = strdup(path);
	w->path = strdup(path);
	if (!dcopy || !bcopy || !w->path ||
	    asprintf(&w->tmp_path, "%s/.tmp-%s.XXXXXX", dirname(dcopy), basename(bcopy)) < 0)
		return -ENOMEM;
	w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	if (w->fd < 0) {
		int r = log_error_errno(negative_errno(), "Cannot create %s: %m", w->tmp_path);
		free(TAKE_PTR(w->tmp_path));
		return r;
	}
	w->md = EVP_MD_CTX_new();
	w->zc = ZSTD_createCCtx();
	if (!w->md || !w->zc || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1 ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, LEVEL)))
		return -ENOMEM;
	uint8_t header[HEADER_LEN];
	for (unsigned i = 0; i < MAGIC_LEN; i++)
		header[i] = (uint8_t) MAGIC[i];
	for (unsigned i = 0; i < 4; i++)
		header[MAGIC_LEN + i] = (uint8_t) (LAYER_INDEX_VERSION >> (8 * i));
	int r = write_out(w, header, sizeof(header));
	if (r < 0)
		return r;
	*ret = TAKE_PTR(w);
	return 0;
}

void layer_index_writer_free(struct layer_index_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_path && !w->committed)
		(void) unlink(w->tmp_path);
	EVP_MD_CTX_free(w->md);
	ZSTD_freeCCtx(w->zc);
	free(w->rec);
	free(w->trailer);
	free(w->path);
	free(w->tmp_path);
	free(w);
}

int layer_index_begin_layer(struct layer_index_writer *w, const char *digest)
{
	int r = end_frame(w);
	if (r < 0)
		return r;
	size_t n = strlen(digest);
	if (n > LAYER_INDEX_DIGEST_MAX || w->n_layers >= LAYER_INDEX_LAYERS_MAX || w->files_started)
		return log_error_errno(-EINVAL, "Layer %s cannot be indexed", digest);
	if ((r = put_le(&w->trailer, &w->trailer_len, &w->trailer_cap, n, 4)) < 0 ||
	    (r = put_raw(&w->trailer, &w->trailer_len, &w->trailer_cap, digest, n)) < 0)
		return r;
	w->n_layers++;
	return begin_frame(w);
}

int layer_index_add_entry(struct layer_index_writer *w, const struct flatten_entry *e)
{
	int r = put_bytes(w, e->path, strlen(e->path));
	if (r >= 0)
		r = put_varint(w, (uint64_t) e->mode);
	if (r >= 0)
		r = put_varint(w, zigzag(e->uid));
	if (r >= 0)
		r = put_varint(w, zigzag(e->gid));
	if (r >= 0)
		r = put_varint(w, zigzag(e->mtime));
	if (r >= 0)
		r = put_varint(w, (uint64_t) e->rdev);
	if (r >= 0)
		r = put_varint(w, e->size);
	if (r >= 0)
		r = put_optional(w, e->symlink_target);
	if (r >= 0)
		r = put_optional(w, e->hardlink_target);
	if (r >= 0)
		r = put_varint(w, e->n_xattrs);
	for (size_t i = 0; r >= 0 && i < e->n_xattrs; i++) {
		r = put_bytes(w, e->xattrs[i].key, strlen(e->xattrs[i].key));
		if (r >= 0)
			r = put_bytes(w, e->xattrs[i].value, e->xattrs[i].size);
	}
	return r < 0 ? r : flush_record(w);
}

int layer_index_add_file(struct layer_index_writer *w, uint32_t layer, uint64_t ordinal, uint64_t inode_ref,
			 uint64_t size, const uint8_t sha256[32])
{
	int r;
	if (!w->files_started) {
		if ((r = end_frame(w)) < 0 || (r = begin_frame(w)) < 0)
			return r;
		w->files_started = true;
	} else if (layer < w->last_layer || (layer == w->last_layer && ordinal <= w->last_ordinal))
		return log_error_errno(-EINVAL, "Internal error: index file records out of order");
	w->last_layer = layer;
	w->last_ordinal = ordinal;
	if ((r = put_varint(w, layer)) < 0 || (r = put_varint(w, ordinal)) < 0 || (r = put_varint(w, inode_ref)) < 0 ||
	    (r = put_varint(w, size)) < 0 || (r = put_raw(&w->rec, &w->rec_len, &w->rec_cap, sha256, 32)) < 0)
		return r;
	return flush_record(w);
}

int layer_index_commit(struct layer_index_writer *w, const char *settings)
{
	int r;
	if (!w->files_started) { /* an image without files: an empty file frame */
		r = begin_frame(w);
		if (r < 0)
			return r;
		w->files_started = true;
	}
	r = end_frame(w); /* the file frame: its place ends the trailer */
	if (r < 0)
		return r;
	/* the trailer's head (count, settings) goes first: rebuild it in front */
	_cleanup_free_ uint8_t *head = NULL;
	size_t head_len = 0, head_cap = 0, n = strlen(settings);
	if (n > LAYER_INDEX_SETTINGS_MAX)
		return -EINVAL;
	if ((r = put_le(&head, &head_len, &head_cap, w->n_layers, 4)) < 0 ||
	    (r = put_le(&head, &head_len, &head_cap, n, 4)) < 0 ||
	    (r = put_raw(&head, &head_len, &head_cap, settings, n)) < 0)
		return r;
	uint64_t trailer_at = w->offset;
	if ((r = write_out(w, head, head_len)) < 0 || (r = write_out(w, w->trailer, w->trailer_len)) < 0)
		return r;
	uint8_t footer[FOOTER_LEN];
	for (unsigned i = 0; i < 8; i++)
		footer[i] = (uint8_t) (trailer_at >> (8 * i));
	if ((r = write_out(w, footer, 8)) < 0)
		return r;
	unsigned len = 0;
	if (EVP_DigestFinal_ex(w->md, footer + 8, &len) != 1 || len != 32)
		return -EIO;
	r = write_all(w->fd, footer + 8, 32);
	if (r < 0)
		return log_error_errno(r, "Cannot write %s: %m", w->tmp_path);
	if (fchmod(w->fd, 0644) < 0 || fsync(w->fd) < 0)
		return log_error_errno(negative_errno(), "Cannot write %s: %m", w->tmp_path);
	r = close(w->fd) < 0 ? negative_errno() : 0;
	w->fd = -1;
	if (r < 0)
		return log_error_errno(r, "Cannot write %s: %m", w->tmp_path);
	r = rename_durable(w->tmp_path, w->path);
	if (r < 0)
		return log_error_errno(r, "Cannot rename %s to %s: %m", w->tmp_path, w->path);
	w->committed = true;
	return 0;
}

int layer_index_hash_zeros(EVP_MD_CTX *md, uint64_t n)
{
	static const uint8_t zeros[64 * 1024];
	for (uint64_t done = 0; done < n;) {
		size_t k = (size_t) (n - done < sizeof(zeros) ? n - done : sizeof(zeros));
		if (EVP_DigestUpdate(md, zeros, k) != 1)
			return -EIO;
		done += k;
	}
	return 0;
}

/* ---- reading ---- */

struct index_layer {
	char *digest;
	uint64_t offset, length, count;
};

struct layer_index {
	char *name; /* for messages */
	uint8_t *data;
	size_t size;
	char *settings;
	struct index_layer *layers;
	size_t n_layers, layers_alloc;
	struct layer_index_file *files;
	size_t n_files;
};

static int bad(const struct layer_index *idx, const char *what)
{
	return log_warning_errno(-EBADMSG, "The layer index %s is damaged (%s): not using it", idx->name, what);
}

struct rd {
	const uint8_t *p, *end;
};

static bool rd_le(struct rd *d, unsigned bytes, uint64_t *v)
{
	if ((size_t) (d->end - d->p) < bytes)
		return false;
	*v = 0;
	for (unsigned i = 0; i < bytes; i++)
		*v |= (uint64_t) d->p[i] << (8 * i);
	d->p += bytes;
	return true;
}

/* Frames of entries or files: decompressed in pieces, records read across them. */
struct layer_index_cursor {
	struct layer_index *idx;
	ZSTD_DCtx *dz;
	ZSTD_inBuffer in;
	uint8_t out[OUT_CHUNK];
	size_t pos, end;
	bool frame_done;
	uint64_t left; /* records */
	char path[FLATTEN_PATH_MAX + 1], symlink[SYMLINK_MAX + 1], hardlink[FLATTEN_PATH_MAX + 1];
	char keys[LAYER_INDEX_XATTRS_MAX][LAYER_INDEX_XATTR_KEY_MAX + 1];
	uint8_t *values; /* LAYER_INDEX_XATTR_VALUE_MAX each, allocated on first use */
	struct flatten_xattr xattrs[LAYER_INDEX_XATTRS_MAX];
};

/* 1 when bytes are waiting, 0 at the frame's end, or -EBADMSG. */
static int cursor_refill(struct layer_index_cursor *c)
{
	while (c->pos == c->end) {
		if (c->frame_done)
			return 0;
		ZSTD_outBuffer out = { c->out, sizeof(c->out), 0 };
		size_t left = ZSTD_decompressStream(c->dz, &out, &c->in);
		if (ZSTD_isError(left))
			return bad(c->idx, ZSTD_getErrorName(left));
		if (left == 0)
			c->frame_done = true;
		else if (out.pos == 0 && c->in.pos == c->in.size)
			return bad(c->idx, "a frame is cut short");
		c->pos = 0;
		c->end = out.pos;
	}
	return 1;
}

static int cursor_byte(struct layer_index_cursor *c, uint8_t *b)
{
	int r = cursor_refill(c);
	if (r <= 0)
		return r < 0 ? r : bad(c->idx, "a record runs past its frame");
	*b = c->out[c->pos++];
	return 0;
}

static int cursor_bytes(struct layer_index_cursor *c, void *dst, size_t n)
{
	uint8_t *d = dst;
	while (n > 0) {
		uint8_t b = 0;
		if (c->pos == c->end) {
			int r = cursor_byte(c, &b);
			if (r < 0)
				return r;
			*d++ = b;
			n--;
			continue;
		}
		size_t k = c->end - c->pos < n ? c->end - c->pos : n;
		memcpy(d, c->out + c->pos, k);
		c->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

static int cursor_varint(struct layer_index_cursor *c, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = 0;
		int r = cursor_byte(c, &b);
		if (r < 0)
			return r;
		if (shift == 63 && (b & 0x7e))
			break;
		*v |= (uint64_t) (b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return bad(c->idx, "a number out of range");
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t) (v >> 1) ^ -(int64_t) (v & 1);
}

/* A string of at most max bytes into buf (max + 1 long), without NULs. */
static int cursor_string(struct layer_index_cursor *c, uint64_t len, char *buf, size_t max, const char *what)
{
	if (len > max)
		return bad(c->idx, what);
	int r = cursor_bytes(c, buf, (size_t) len);
	if (r < 0)
		return r;
	buf[len] = '\0';
	if (memchr(buf, '\0', (size_t) len))
		return bad(c->idx, what);
	return 0;
}

static int cursor_start(struct layer_index *idx, uint64_t offset, uint64_t length, uint64_t count,
			struct layer_index_cursor **ret)
{
	struct layer_index_cursor *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->idx = idx;
	c->dz = ZSTD_createDCtx();
	if (!c->dz) {
		free(c);
		return -ENOMEM;
	}
	c->in = (ZSTD_inBuffer){ idx->data + offset, (size_t) length, 0 };
	c->left = count;
	*ret = c;
	return 0;
}

void layer_index_cursor_free(struct layer_index_cursor *c)
{
	ZSTD_freeDCtx(c->dz);
	free(c->values);
	free(c);
}

int layer_index_cursor_open(struct layer_index *idx, size_t layer, struct layer_index_cursor **ret)
{
	if (layer >= idx->n_layers)
		return -EINVAL;
	const struct index_layer *l = &idx->layers[layer];
	return cursor_start(idx, l->offset, l->length, l->count, ret);
}

/* The frame ends exactly after its last record, and nothing follows it. */
static int cursor_end(struct layer_index_cursor *c)
{
	int r = cursor_refill(c);
	if (r != 0)
		return r < 0 ? r : bad(c->idx, "a frame holds more than its count");
	return c->in.pos == c->in.size ? 0 : bad(c->idx, "data after a frame");
}

int layer_index_cursor_next(struct layer_index_cursor *c, struct flatten_entry *e)
{
	uint64_t len = 0, v = 0;
	int r;

	if (c->left == 0) {
		r = cursor_end(c);
		return r < 0 ? r : 0;
	}
	c->left--;
	*e = (struct flatten_entry){ .path = c->path, .xattrs = c->xattrs };
	if ((r = cursor_varint(c, &len)) < 0 || (r = cursor_string(c, len, c->path, FLATTEN_PATH_MAX, "a path")) < 0)
		return r;
	if ((r = cursor_varint(c, &v)) < 0)
		return r;
	if (v > UINT32_MAX)
		return bad(c->idx, "a mode");
	e->mode = (mode_t) v;
	if ((r = cursor_varint(c, &v)) < 0)
		return r;
	e->uid = unzigzag(v);
	if ((r = cursor_varint(c, &v)) < 0)
		return r;
	e->gid = unzigzag(v);
	if ((r = cursor_varint(c, &v)) < 0)
		return r;
	e->mtime = unzigzag(v);
	if ((r = cursor_varint(c, &v)) < 0)
		return r;
	e->rdev = (dev_t) v;
	if ((r = cursor_varint(c, &e->size)) < 0)
		return r;
	if ((r = cursor_varint(c, &len)) < 0)
		return r;
	if (len > 0) {
		if ((r = cursor_string(c, len - 1, c->symlink, SYMLINK_MAX, "a link target")) < 0)
			return r;
		e->symlink_target = c->symlink;
	}
	if ((r = cursor_varint(c, &len)) < 0)
		return r;
	if (len > 0) {
		if ((r = cursor_string(c, len - 1, c->hardlink, FLATTEN_PATH_MAX, "a hard link target")) < 0)
			return r;
		e->hardlink_target = c->hardlink;
	}
	if ((r = cursor_varint(c, &v)) < 0)
		return r;
	if (v > LAYER_INDEX_XATTRS_MAX)
		return bad(c->idx, "too many xattrs");
	if (v > 0 && !c->values) {
		c->values = malloc((size_t) LAYER_INDEX_XATTRS_MAX * LAYER_INDEX_XATTR_VALUE_MAX);
		if (!c->values)
			return -ENOMEM;
	}
	e->n_xattrs = (size_t) v;
	for (size_t i = 0; i < e->n_xattrs; i++) {
		uint8_t *value = c->values + i * LAYER_INDEX_XATTR_VALUE_MAX;
		if ((r = cursor_varint(c, &len)) < 0 ||
		    (r = cursor_string(c, len, c->keys[i], LAYER_INDEX_XATTR_KEY_MAX, "an xattr name")) < 0)
			return r;
		if ((r = cursor_varint(c, &len)) < 0)
			return r;
		if (len > LAYER_INDEX_XATTR_VALUE_MAX)
			return bad(c->idx, "an xattr value");
		if ((r = cursor_bytes(c, value, (size_t) len)) < 0)
			return r;
		c->xattrs[i] = (struct flatten_xattr){ .key = c->keys[i], .value = value, .size = (size_t) len };
	}
	return 1;
}

static int load_files(struct layer_index *idx, uint64_t offset, uint64_t length, uint64_t count)
{
	if (count > FLATTEN_ENTRIES_MAX)
		return bad(idx, "too many files");
	_cleanup_(layer_index_cursor_freep) struct layer_index_cursor *c = NULL;
	int r = cursor_start(idx, offset, length, count, &c);
	if (r < 0)
		return r;
	idx->files = calloc(count ? (size_t) count : 1, sizeof(*idx->files));
	if (!idx->files)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t layer = 0, ordinal = 0, ref = 0, size = 0;
		if ((r = cursor_varint(c, &layer)) < 0 || (r = cursor_varint(c, &ordinal)) < 0 ||
		    (r = cursor_varint(c, &ref)) < 0 || (r = cursor_varint(c, &size)) < 0)
			return r;
		if (layer >= idx->n_layers || ordinal >= idx->layers[layer].count)
			return bad(idx, "a file of no entry");
		struct layer_index_file f = { (uint32_t) layer, ordinal, ref, size, { 0 } };
		if ((r = cursor_bytes(c, f.sha256, sizeof(f.sha256))) < 0)
			return r;
		if (i > 0) {
			const struct layer_index_file *p = &idx->files[i - 1];
			if (f.layer < p->layer || (f.layer == p->layer && f.ordinal <= p->ordinal))
				return bad(idx, "file records out of order");
		}
		idx->files[i] = f;
		idx->n_files++;
	}
	c->left = 0;
	return cursor_end(c);
}

static int parse(struct layer_index *idx)
{
	const uint8_t *data = idx->data;
	size_t size = idx->size;
	if (size < HEADER_LEN + FOOTER_LEN || memcmp(data, MAGIC, MAGIC_LEN) != 0)
		return bad(idx, "not a layer index");
	struct rd d = { data + MAGIC_LEN, data + HEADER_LEN };
	uint64_t v = 0;
	(void) rd_le(&d, 4, &v);
	if (v != LAYER_INDEX_VERSION)
		return log_warning_errno(-EBADMSG, "The layer index %s has version %" PRIu64 ", not %d: not using it",
					 idx->name, v, LAYER_INDEX_VERSION);

	uint8_t sha[32];
	unsigned len = 0;
	size_t body = size - 32;
	if (EVP_Digest(data, body, sha, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return -EIO;
	if (memcmp(sha, data + body, 32) != 0)
		return bad(idx, "its sha256 does not match");

	size_t footer = size - FOOTER_LEN;
	d = (struct rd){ data + footer, data + footer + 8 };
	uint64_t trailer_at = 0;
	(void) rd_le(&d, 8, &trailer_at);
	if (trailer_at < HEADER_LEN || trailer_at > footer)
		return bad(idx, "its trailer is out of place");
	d = (struct rd){ data + trailer_at, data + footer };
	uint64_t n_layers = 0, settings_len = 0;
	if (!rd_le(&d, 4, &n_layers) || !rd_le(&d, 4, &settings_len) || n_layers > LAYER_INDEX_LAYERS_MAX ||
	    settings_len > LAYER_INDEX_SETTINGS_MAX || (size_t) (d.end - d.p) < settings_len)
		return bad(idx, "its trailer");
	idx->settings = strndup((const char *) d.p, (size_t) settings_len);
	if (!idx->settings)
		return -ENOMEM;
	if (strlen(idx->settings) != settings_len)
		return bad(idx, "its settings");
	d.p += settings_len;
	idx->layers = calloc(n_layers ? (size_t) n_layers : 1, sizeof(*idx->layers));
	if (!idx->layers)
		return -ENOMEM;
	idx->layers_alloc = (size_t) n_layers;
	uint64_t frames_end = HEADER_LEN;
	for (size_t i = 0; i <= n_layers; i++) {
		struct index_layer l = {};
		if (i < n_layers) {
			uint64_t dlen = 0;
			if (!rd_le(&d, 4, &dlen) || dlen == 0 || dlen > LAYER_INDEX_DIGEST_MAX ||
			    (size_t) (d.end - d.p) < dlen)
				return bad(idx, "a layer digest");
			l.digest = strndup((const char *) d.p, (size_t) dlen);
			if (!l.digest)
				return -ENOMEM;
			idx->layers[i] = l; /* freed with idx from here */
			if (strlen(l.digest) != dlen)
				return bad(idx, "a layer digest");
			d.p += dlen;
		}
		if (!rd_le(&d, 8, &l.offset) || !rd_le(&d, 8, &l.length) || !rd_le(&d, 8, &l.count))
			return bad(idx, "its trailer");
		/* frames in order, one after the other, before the trailer */
		if (l.offset != frames_end || l.length > trailer_at - l.offset || l.count > FLATTEN_ENTRIES_MAX)
			return bad(idx, "a frame out of place");
		frames_end = l.offset + l.length;
		if (i < n_layers) {
			idx->layers[i].offset = l.offset;
			idx->layers[i].length = l.length;
			idx->layers[i].count = l.count;
			idx->n_layers = i + 1;
		} else {
			if (frames_end != trailer_at || d.p != d.end)
				return bad(idx, "its trailer");
			int r = load_files(idx, l.offset, l.length, l.count);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

void layer_index_free(struct layer_index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; i < idx->layers_alloc; i++)
		free(idx->layers[i].digest);
	free(idx->layers);
	free(idx->files);
	free(idx->settings);
	free(idx->data);
	free(idx->name);
	free(idx);
}

static int open_data(char *name, uint8_t *data, size_t size, struct layer_index **ret)
{
	struct layer_index *idx = calloc(1, sizeof(*idx));
	if (!idx) {
		free(name);
		free(data);
		return -ENOMEM;
	}
	idx->name = name;
	idx->data = data;
	idx->size = size;
	int r = parse(idx);
	if (r < 0) {
		layer_index_free(idx);
		return r;
	}
	*ret = idx;
	return 0;
}

int layer_index_open_memory(const void *data, size_t size, struct layer_index **ret)
{
	uint8_t *copy = malloc(size ? size : 1);
	char *name = strdup("(memory)");
	if (!copy || !name) {
		free(copy);
		free(name);
		return -ENOMEM;
	}
	memcpy(copy, data, size);
	return open_data(name, copy, size, ret);
}

int layer_index_open(const char *path, struct layer_index **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : log_error_errno(negative_errno(), "Cannot open %s: %m", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return log_error_errno(negative_errno(), "Cannot read %s: %m", path);
	if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size > INDEX_FILE_MAX)
		return log_error_errno(-EBADMSG, "The layer index %s is not a file of at most %llu MiB: not using it",
				       path, INDEX_FILE_MAX >> 20);
	size_t size = (size_t) st.st_size;
	_cleanup_free_ uint8_t *data = malloc(size ? size : 1);
	char *name = strdup(path);
	if (!data || !name) {
		free(name);
		return -ENOMEM;
	}
	ssize_t got = pread_full(fd, data, size, 0);
	if (got < 0 || (size_t) got != size) {
		free(name);
		return log_error_errno(got < 0 ? (int) got : -EIO, "Cannot read %s: %m", path);
	}
	return open_data(name, TAKE_PTR(data), size, ret);
}

size_t layer_index_n_layers(const struct layer_index *idx)
{
	return idx->n_layers;
}

const char *layer_index_digest(const struct layer_index *idx, size_t layer)
{
	return layer < idx->n_layers ? idx->layers[layer].digest : NULL;
}

const char *layer_index_settings(const struct layer_index *idx)
{
	return idx->settings;
}

const struct layer_index_file *layer_index_find_file(const struct layer_index *idx, uint32_t layer, uint64_t ordinal)
{
	size_t lo = 0, hi = idx->n_files;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct layer_index_file *f = &idx->files[mid];
		if (f->layer == layer && f->ordinal == ordinal)
			return f;
		if (f->layer < layer || (f->layer == layer && f->ordinal < ordinal))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
