/* SPDX-License-Identifier: Apache-2.0 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "layer_reader.h"
#include "log.h"
#include "util.h"

#define READ_BUFFER_SIZE (128 * 1024)
/* Reading the blob (download, digest) and inflating it run in a thread of
 * their own, a few buffers ahead of the tar parser that feeds the block
 * processor: at low compression levels the single-threaded inflate is the
 * slowest stage, and this way it overlaps with everything else. */
#define PIPE_BUFFERS 4
#define PIPE_BUFFER_SIZE (256 * 1024)
#define MAX_XATTRS 256
/* After a decompression error, read at most this much more of the blob for
 * its digest verdict (as blob_stream does when its reader goes away). */
#define DRAIN_MAX (64u * 1024 * 1024)
/* What libarchive may read to parse one entry's headers: pax headers, long
 * names, sparse maps (old GNU extension blocks, pax 0.x records, the pax 1.0
 * map). It keeps a sparse map in memory at ~50 bytes an entry for as few as
 * 4 bytes of map ("0\n0\n"): 16 MiB bounds that to ~200 MiB, where a real
 * map of 800 k extents still fits. */
#define HEADER_BYTES_MAX (16u * 1024 * 1024)
/* Decompression bombs (struct expansion_budget): the layers of a pass may
 * expand to 100 times the bytes actually received so far (real layers:
 * 2-10x; gzip cannot exceed ~1000x, zstd reaches far more), or to 1 GiB
 * whatever their size, so tiny layers of tar headers and zero padding
 * always pass. Received, not the manifest's claimed size: a manifest may
 * claim a terabyte for a 2 MB bomb. The budget is for the image, not each
 * layer: otherwise 4096 tiny layers would buy 4 TiB. The holes of sparse
 * files count too (the builder writes them out as zeros): a layer holding
 * gigabytes of zeros in a few megabytes, sparse or not, is refused. */
#define EXPANSION_RATIO_MAX 100
#define EXPANSION_FLOOR (1024ull * 1024 * 1024)

/* We decompress ourselves instead of using libarchive's filters: libarchive
 * stops at the tar's end-of-archive marker and so never checks the gzip CRC
 * or the zstd frame end; we read every compressed stream to its end and
 * refuse a truncated or corrupt one. */
enum codec { CODEC_NONE, CODEC_GZIP, CODEC_ZSTD };

struct layer_reader {
	struct layer_stream *ls;
	struct archive *archive;
	uint64_t stream_bytes;
	struct expansion_budget *budget; /* shared with the other layers of the pass */
	struct expansion_budget own_budget;
	ZSTD_DStream *zstd;
	size_t zstd_hint; /* 0 once a frame is complete */
	size_t in_pos, in_len;
	z_stream gz;
	int stream_error;
	enum codec codec;
	bool gz_ready, gz_member_done;
	bool any_input;
	bool in_eof;

	/* The current entry, for charging its holes: its size (the real size of
	 * a sparse file) and the end of what was read of it so far. */
	const char *entry_path;
	uint64_t entry_size, entry_pos;
	bool have_entry;
	uint64_t n_entries;    /* entries returned so far */
	bool in_header;        /* archive_read_next_header() is running */
	uint64_t header_bytes; /* what it read so far */
	int header_error;      /* past HEADER_BYTES_MAX (logged) */

	/* The pipe from the reader thread: slots [head, head + count) are full,
	 * the parser holds slot head while libarchive uses it. */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t lens[PIPE_BUFFERS];
	unsigned head, count;
	int status; /* 0: the stream ended cleanly, else a negative errno (logged) */
	bool thread_started;
	bool holding;
	bool done;     /* the thread has finished: status says how */
	bool stopping; /* the parser is gone: stop early */

	struct flatten_xattr xattrs[MAX_XATTRS];
	uint8_t in[READ_BUFFER_SIZE];
	uint8_t bufs[PIPE_BUFFERS][PIPE_BUFFER_SIZE];
};

static uint64_t expansion_limit(uint64_t received)
{
	if (received > UINT64_MAX / EXPANSION_RATIO_MAX)
		return UINT64_MAX;
	return received * EXPANSION_RATIO_MAX > EXPANSION_FLOOR ? received * EXPANSION_RATIO_MAX : EXPANSION_FLOOR;
}

/* Charge bytes to the budget: true while it holds; the limit and what was
 * received, for messages. Called by the reader thread (decompressed bytes)
 * and the parser (holes): under r->lock. */
static bool budget_charge(struct layer_reader *r, uint64_t bytes, uint64_t *ret_limit, uint64_t *ret_received)
{
	pthread_mutex_lock(&r->lock);
	struct expansion_budget *b = r->budget;
	b->expanded = add_sat_u64(b->expanded, bytes);
	*ret_limit = expansion_limit(b->received);
	*ret_received = b->received;
	bool ok = b->expanded <= *ret_limit;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && streq(s + a - b, suffix);
}

static ssize_t stream_read(struct layer_reader *r, void *buf, size_t size)
{
	ssize_t n = r->ls->read(r->ls, buf, size);
	if (n < 0) {
		r->stream_error = (int) n;
		return n;
	}
	r->stream_bytes += (uint64_t) n;
	/* Cut off a blob longer than its descriptor at once, whatever the source. */
	if (r->stream_bytes > r->ls->size) {
		r->stream_error = log_error_errno(-EBADMSG,
						  "Size mismatch for layer %s: the blob is longer "
						  "than the %" PRIu64 " bytes the manifest says; refusing it",
						  r->ls->digest, r->ls->size);
		return r->stream_error;
	}
	pthread_mutex_lock(&r->lock);
	r->budget->received += (uint64_t) n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* One step of the decompressor: bytes produced into out. */
static int decompress_step(struct layer_reader *r, uint8_t *out, size_t size, size_t *produced)
{
	if (r->codec == CODEC_GZIP) {
		if (r->gz_member_done && r->in_pos < r->in_len) {
			/* concatenated gzip members are one stream (RFC 1952) */
			inflateReset(&r->gz);
			r->gz_member_done = false;
		}
		r->gz.next_in = r->in + r->in_pos;
		r->gz.avail_in = (uInt) (r->in_len - r->in_pos);
		r->gz.next_out = out;
		r->gz.avail_out = (uInt) size;
		int z = inflate(&r->gz, Z_NO_FLUSH);
		r->in_pos = r->in_len - r->gz.avail_in;
		*produced = size - r->gz.avail_out;
		if (z == Z_STREAM_END)
			r->gz_member_done = true;
		else if (z != Z_OK && z != Z_BUF_ERROR)
			return log_error_errno(-EBADMSG, "Layer %s: corrupt gzip data: %s", r->ls->digest,
					       r->gz.msg ?: "inflate failed");
		return 0;
	}
	/* A finished frame with no input left: calling again would start
	 * waiting for the next frame's header and lose that the stream ended cleanly. */
	if (r->in_pos == r->in_len && r->any_input && r->zstd_hint == 0) {
		*produced = 0;
		return 0;
	}
	ZSTD_inBuffer in = { r->in, r->in_len, r->in_pos };
	ZSTD_outBuffer o = { out, size, 0 };
	size_t z = ZSTD_decompressStream(r->zstd, &o, &in);
	if (ZSTD_isError(z))
		return log_error_errno(-EBADMSG, "Layer %s: corrupt zstd data: %s", r->ls->digest,
				       ZSTD_getErrorName(z));
	r->in_pos = in.pos;
	r->zstd_hint = z;
	*produced = o.pos;
	return 0;
}

/* Uncompressed tar bytes: > 0, 0 at the verified end of the stream, or a
 * negative errno (logged). */
static ssize_t layer_reader_decompress(struct layer_reader *r, uint8_t *out, size_t size)
{
	if (r->codec == CODEC_NONE) {
		ssize_t n = stream_read(r, out, size);
		return n;
	}
	for (;;) {
		if (r->in_pos == r->in_len && !r->in_eof) {
			ssize_t n = stream_read(r, r->in, sizeof(r->in));
			if (n < 0)
				return n;
			r->in_pos = 0;
			r->in_len = (size_t) n;
			r->in_eof = n == 0;
			r->any_input = r->any_input || n > 0;
		}
		size_t produced = 0;
		int k = decompress_step(r, out, size, &produced);
		if (k < 0)
			return k;
		if (produced > 0) {
			uint64_t max, received;
			if (!budget_charge(r, produced, &max, &received))
				return log_error_errno(-EFBIG,
						       "Layer %s: the image's layers expand past %" PRIu64
						       " bytes from %" PRIu64 " received, more than %dx or 1 GiB: "
						       "refusing it as a decompression bomb",
						       r->ls->digest, max, received, EXPANSION_RATIO_MAX);
			return (ssize_t) produced;
		}
		if (r->in_pos == r->in_len && r->in_eof) {
			bool complete =
				r->any_input && (r->codec == CODEC_GZIP ? r->gz_member_done : r->zstd_hint == 0);
			if (!complete)
				return log_error_errno(-EBADMSG, "Layer %s: compressed stream is truncated",
						       r->ls->digest);
			return 0;
		}
	}
}

static bool stopping_requested(struct layer_reader *r)
{
	pthread_mutex_lock(&r->lock);
	bool stopping = r->stopping;
	pthread_mutex_unlock(&r->lock);
	return stopping;
}

static void *reader_thread(void *userdata)
{
	struct layer_reader *r = userdata;
	ssize_t n;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (r->count == PIPE_BUFFERS && !r->stopping)
			pthread_cond_wait(&r->cond, &r->lock);
		unsigned slot = (r->head + r->count) % PIPE_BUFFERS;
		bool stopping = r->stopping;
		pthread_mutex_unlock(&r->lock);
		if (stopping) {
			n = -ECANCELED;
			break;
		}
		/* the parser only touches full slots: this one is ours */
		n = layer_reader_decompress(r, r->bufs[slot], PIPE_BUFFER_SIZE);
		if (n <= 0)
			break;
		pthread_mutex_lock(&r->lock);
		r->lens[slot] = (size_t) n;
		r->count++;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}

	if (n < 0 && r->stream_error == 0 && n != -ECANCELED) {
		/* Data that does not decompress may be data that fails its digest:
		 * read the rest of the blob so the producer can say so, unless
		 * the rest is big or the parser has gone. */
		uint64_t rest = 0;
		while (r->stream_error == 0 && !r->in_eof && rest < DRAIN_MAX && !stopping_requested(r)) {
			ssize_t k = stream_read(r, r->in, sizeof(r->in));
			r->in_eof = k == 0;
			rest += k > 0 ? (uint64_t) k : 0;
		}
		if (r->stream_error < 0)
			n = r->stream_error;
	}
	pthread_mutex_lock(&r->lock);
	r->done = true;
	r->status = (int) n;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* The next full buffer from the reader thread: > 0 bytes, 0 at the clean
 * end, or the thread's negative errno. */
static ssize_t pipe_next(struct layer_reader *r, const void **buf)
{
	ssize_t n;
	pthread_mutex_lock(&r->lock);
	if (r->holding) {
		r->head = (r->head + 1) % PIPE_BUFFERS;
		r->count--;
		r->holding = false;
		pthread_cond_broadcast(&r->cond);
	}
	while (r->count == 0 && !r->done)
		pthread_cond_wait(&r->cond, &r->lock);
	if (r->count > 0) {
		r->holding = true;
		*buf = r->bufs[r->head];
		n = (ssize_t) r->lens[r->head];
	} else
		n = r->status;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static ssize_t read_callback(struct archive *a, void *userdata, const void **buf)
{
	struct layer_reader *r = userdata;
	ssize_t n = pipe_next(r, buf);
	if (n < 0) {
		archive_set_error(a, (int) -n, "layer stream failed");
		return -1;
	}
	if (r->in_header) {
		r->header_bytes += (uint64_t) n;
		if (r->header_bytes > HEADER_BYTES_MAX) {
			/* (the last entry's name is gone: libarchive cleared it) */
			r->header_error = log_error_errno(-EFBIG,
							  "Layer %s: the headers of entry %" PRIu64
							  " (pax headers, long names, sparse map) take over "
							  "%u bytes: refusing them as a memory bomb",
							  r->ls->digest, r->n_entries + 1, HEADER_BYTES_MAX);
			archive_set_error(a, EFBIG, "headers too big");
			return -1;
		}
	}
	return n;
}

/* Drain the pipe to its end: 0 or the thread's error. */
static int pipe_drain(struct layer_reader *r)
{
	for (;;) {
		const void *buf;
		ssize_t n = pipe_next(r, &buf);
		if (n <= 0)
			return (int) n;
	}
}

/* Map libarchive's failure to our errno: the stream's own error wins (a
 * digest mismatch must surface as such, so the rest of the blob is read
 * first), then the decompressor's, then libarchive's view of the tar. */
static int archive_failure(struct layer_reader *r, const char *what)
{
	int k = pipe_drain(r);
	if (r->stream_error < 0)
		return r->stream_error; /* the producer logged it */
	if (k < 0)
		return k; /* logged by the decompressor */
	if (r->header_error < 0)
		return r->header_error; /* logged by read_callback */
	return log_error_errno(-EBADMSG, "Layer %s: %s: %s", r->ls->digest, what,
			       archive_error_string(r->archive) ?: "unknown error");
}

int layer_reader_open(struct layer_stream *ls, struct expansion_budget *budget, struct layer_reader **ret)
{
	_cleanup_(layer_reader_freep) struct layer_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ls = ls;
	r->budget = budget ?: &r->own_budget;
	r->archive = archive_read_new();
	if (!r->archive)
		// cppcheck-suppress memleak ; freed by its _cleanup_ attribute
		return -ENOMEM;

	const char *mt = ls->media_type ?: "";
	if (ends_with(mt, "+gzip") || ends_with(mt, ".gzip")) {
		/* 16 + MAX_WBITS: gzip wrapper, with its CRC and size checked */
		if (inflateInit2(&r->gz, 16 + MAX_WBITS) != Z_OK)
			return -ENOMEM;
		r->gz_ready = true;
		r->codec = CODEC_GZIP;
	} else if (ends_with(mt, "+zstd") || ends_with(mt, ".zstd")) {
		r->zstd = ZSTD_createDStream();
		if (!r->zstd)
			// cppcheck-suppress memleak ; freed by its _cleanup_ attribute
			return -ENOMEM;
		r->codec = CODEC_ZSTD;
	} else if (!ends_with(mt, ".tar"))
		// cppcheck-suppress memleak ; freed by its _cleanup_ attribute
		return log_error_errno(-EPROTONOSUPPORT, "Layer %s: unsupported media type '%s'", ls->digest, mt);
	/* Only POSIX/GNU tar: archive_read_support_format_all would accept
	 * formats no image builder produces. */
	archive_read_support_format_tar(r->archive);
	archive_read_support_format_gnutar(r->archive);

	if (pthread_mutex_init(&r->lock, NULL) != 0)
		return -ENOMEM;
	if (pthread_cond_init(&r->cond, NULL) != 0) {
		pthread_mutex_destroy(&r->lock);
		return -ENOMEM;
	}
	int k = pthread_create(&r->thread, NULL, reader_thread, r);
	if (k != 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		return log_error_errno(-k, "Cannot start the layer reader thread: %m");
	}
	r->thread_started = true;

	if (archive_read_open(r->archive, r, NULL, read_callback, NULL) != ARCHIVE_OK)
		return archive_failure(r, "cannot read the archive");
	*ret = TAKE_PTR(r);
	return 0;
}

int layer_reader_next(struct layer_reader *r, struct flatten_entry *e)
{
	struct archive_entry *ae;
	int a;
	/* The rest of the last entry's data first, so that what the header
	 * parse reads is headers only. */
	if (r->have_entry) {
		a = archive_read_data_skip(r->archive);
		if (a != ARCHIVE_OK && a != ARCHIVE_WARN)
			return archive_failure(r, "cannot read file data");
	}
	r->in_header = true;
	r->header_bytes = 0;
	a = archive_read_next_header(r->archive, &ae);
	r->in_header = false;
	r->have_entry = a == ARCHIVE_OK || a == ARCHIVE_WARN;
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
	e->size = archive_entry_size_is_set(ae) && archive_entry_size(ae) > 0 ? (uint64_t) archive_entry_size(ae) : 0;
	e->hardlink_target = archive_entry_hardlink(ae) ?: archive_entry_hardlink_utf8(ae);
	if (S_ISLNK(e->mode)) {
		e->symlink_target = archive_entry_symlink(ae) ?: archive_entry_symlink_utf8(ae);
		if (!e->symlink_target)
			return log_error_errno(-EBADMSG, "Layer %s: symlink '%s' has no target", r->ls->digest,
					       e->path);
	}

	size_t n = 0;
	const char *key;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &key, &value, &size) == ARCHIVE_OK) {
		if (n == MAX_XATTRS)
			return log_error_errno(-EBADMSG, "Layer %s: entry '%s' has over %d xattrs", r->ls->digest,
					       e->path, MAX_XATTRS);
		r->xattrs[n++] = (struct flatten_xattr){ .key = key, .value = value, .size = size };
	}
	e->xattrs = r->xattrs;
	e->n_xattrs = n;
	r->entry_path = e->path;
	r->entry_size = e->size;
	r->entry_pos = 0;
	r->n_entries++;
	return 1;
}

/* The stream's own failure, if it already happened: the reader thread's
 * verdict is in, or it is still reading but the producer said so. */
static int stream_failure(struct layer_reader *r)
{
	pthread_mutex_lock(&r->lock);
	int k = r->done && r->status < 0 && r->status != -ECANCELED ? r->status : 0;
	pthread_mutex_unlock(&r->lock);
	return k;
}

int layer_reader_check(struct layer_reader *r)
{
	return stream_failure(r);
}

/* Holes (sparse files, a short tail) are charged before anyone writes them. */
static int charge_hole(struct layer_reader *r, uint64_t end)
{
	uint64_t hole = end - r->entry_pos, max, received;
	if (hole == 0 || budget_charge(r, hole, &max, &received))
		return 0;
	int k = stream_failure(r); /* a blob that failed its digest is that, not a bomb */
	if (k < 0)
		return k;
	return log_error_errno(-EFBIG,
			       "Layer %s: '%s' is a sparse file of %" PRIu64 " bytes: with its "
			       "holes the image's layers expand past %" PRIu64 " bytes from %" PRIu64
			       " received, more than %dx or 1 GiB: refusing it as a decompression bomb",
			       r->ls->digest, r->entry_path, r->entry_size, max, received, EXPANSION_RATIO_MAX);
}

int layer_reader_read_data(struct layer_reader *r, const void **buf, size_t *size, int64_t *offset)
{
	la_int64_t off;
	int a = archive_read_data_block(r->archive, buf, size, &off);
	if (a == ARCHIVE_EOF) {
		int k = charge_hole(r, r->entry_size);
		r->entry_pos = r->entry_size;
		return k;
	}
	if (a != ARCHIVE_OK && a != ARCHIVE_WARN)
		return archive_failure(r, "cannot read file data");
	if (off < 0 || (uint64_t) off < r->entry_pos || *size > r->entry_size || (uint64_t) off > r->entry_size - *size)
		return log_error_errno(-EBADMSG, "Layer %s: data of '%s' out of order or past its size", r->ls->digest,
				       r->entry_path);
	int k = charge_hole(r, (uint64_t) off);
	if (k < 0)
		return k;
	r->entry_pos = (uint64_t) off + *size;
	*offset = off;
	return 1;
}

int layer_reader_finish(struct layer_reader *r)
{
	return pipe_drain(r);
}

uint64_t layer_reader_stream_bytes(const struct layer_reader *r)
{
	return r->stream_bytes;
}

void layer_reader_free(struct layer_reader *r)
{
	if (!r)
		return;
	if (r->thread_started) {
		pthread_mutex_lock(&r->lock);
		r->stopping = true;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
	}
	if (r->archive)
		archive_read_free(r->archive);
	if (r->gz_ready)
		inflateEnd(&r->gz);
	ZSTD_freeDStream(r->zstd);
	free(r);
}
