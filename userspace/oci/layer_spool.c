/* SPDX-License-Identifier: Apache-2.0 */
#include "layer_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "blob_stream.h"
#include "digest.h"
#include "durable.h"
#include "log.h"
#include "util.h"

#define READ_CHUNK (256 * 1024)

struct spool_slot {
	struct layer_spool *spool;
	const struct descriptor *d;
	uint64_t offset;
	bool complete; /* set by the producer thread; read after the stream joined it */
};

struct layer_spool {
	int fd;
	char *dir;
	const struct manifest_store *store;
	size_t first, n;
	struct spool_slot *slots;
};

static void format_mib(uint64_t bytes, char buf[32])
{
	snprintf(buf, 32, "%.1f MiB", (double) bytes / 1048576.0);
}

static int no_room(const struct layer_spool *s, uint64_t need, uint64_t free_bytes)
{
	char n[32], f[32];
	format_mib(need, n);
	format_mib(free_bytes, f);
	return log_error_errno(-ENOSPC,
			       "Not enough space in %s to keep the upper layers while they are scanned (so that "
			       "each is downloaded once): they need %s, %s are free. Nothing was written",
			       s->dir, n, f);
}

/* Unnamed where the file system can; else a name removed at once. */
static int open_unnamed(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd : negative_errno();
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/.tmp-spool.XXXXXX", dir) < 0)
		return -ENOMEM;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	(void) unlink(path);
	return fd;
}

int layer_spool_new(const char *dir, const struct manifest *m, size_t first, const struct manifest_store *store,
		    struct layer_spool **ret)
{
	if (first >= m->n_entries)
		return -EINVAL;
	struct layer_spool *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->store = store;
	s->first = first;
	s->n = m->n_entries - first;
	s->dir = strdup(dir);
	s->slots = calloc(s->n, sizeof(*s->slots));
	if (!s->dir || !s->slots) {
		layer_spool_free(s);
		return -ENOMEM;
	}
	/* The descriptors' sizes, which the producers never exceed. */
	uint64_t need = 0;
	for (size_t i = 0; i < s->n; i++) {
		s->slots[i] = (struct spool_slot){ .spool = s, .d = &m->entries[first + i], .offset = need };
		need = add_sat_u64(need, m->entries[first + i].size);
	}
	int r = open_unnamed(dir);
	if (r < 0) {
		log_error_errno(r, "Cannot create a temporary file in %s to keep the upper layers: %m", dir);
		layer_spool_free(s);
		return r;
	}
	s->fd = r;
	struct statvfs st;
	uint64_t free_bytes = 0;
	if (fstatvfs(s->fd, &st) == 0)
		free_bytes = (uint64_t) st.f_bavail * st.f_frsize;
	if (need > free_bytes || need > (uint64_t) INT64_MAX)
		r = no_room(s, need, free_bytes);
	/* Reserved now: a disk that fills while we download cannot fail the
	 * spool half-way. */
	else if (need > 0 && (r = -posix_fallocate(s->fd, 0, (off_t) need)) < 0 && r != -EOPNOTSUPP && r != -EINVAL)
		r = r == -ENOSPC || r == -EDQUOT ? no_room(s, need, free_bytes)
						 : log_error_errno(r, "Cannot reserve space in %s: %m", dir);
	else
		r = 0;
	if (r < 0) {
		layer_spool_free(s);
		return r;
	}
	log_debug("Keeping layers %zu..%zu in %s (%llu bytes)", first, m->n_entries - 1, dir,
		  (unsigned long long) need);
	*ret = s;
	return 0;
}

size_t layer_spool_first(const struct layer_spool *s)
{
	return s->first;
}

struct layer_spool *layer_spool_free(struct layer_spool *s)
{
	if (!s)
		return NULL;
	if (s->fd >= 0)
		close(s->fd);
	free(s->slots);
	free(s->dir);
	free(s);
	return NULL;
}

struct tee {
	struct spool_slot *slot;
	uint64_t written;
	blob_sink_t next;
	void *next_ctx;
};

static int tee_push(void *userdata, const void *data, size_t size)
{
	struct tee *t = userdata;
	struct spool_slot *slot = t->slot;
	/* producers stop at the descriptor's size: a backstop */
	if (size > slot->d->size - t->written)
		return log_error_errno(-EBADMSG, "Blob %s is longer than its %llu bytes", slot->d->digest,
				       (unsigned long long) slot->d->size);
	int r = pwrite_all(slot->spool->fd, data, size, slot->offset + t->written);
	if (r < 0) {
		if (r == -ENOSPC || r == -EDQUOT)
			return no_room(slot->spool, slot->d->size, 0);
		return log_error_errno(r, "Cannot keep layer %s in %s: %m", slot->d->digest, slot->spool->dir);
	}
	t->written += size;
	return t->next(t->next_ctx, data, size);
}

/* The store's bytes, into the spool on their way to the builder. */
static int tee_produce(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	struct spool_slot *slot = ctx;
	const struct manifest_store *store = slot->spool->store;
	struct tee t = { .slot = slot, .next = sink, .next_ctx = sink_ctx };
	int r = store->produce_blob(store->ctx, d, tee_push, &t);
	/* verified whole by the store: later reads may come from here */
	if (r >= 0 && t.written == d->size)
		slot->complete = true;
	return r;
}

/* The kept bytes, checked again: the disk is not trusted either. */
static int kept_produce(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	struct spool_slot *slot = ctx;
	const struct layer_spool *s = slot->spool;
	struct digest_sink h = { .next = sink, .next_userdata = sink_ctx };
	int r = digest_init(&h.md);
	if (r < 0)
		return r;
	_cleanup_free_ char *buf = malloc(READ_CHUNK);
	if (!buf)
		r = -ENOMEM;
	for (uint64_t done = 0; r >= 0 && done < d->size;) {
		size_t want = d->size - done < READ_CHUNK ? (size_t) (d->size - done) : READ_CHUNK;
		ssize_t n = pread_full(s->fd, buf, want, slot->offset + done);
		if (n < 0)
			r = log_error_errno((int) n, "Cannot read the kept copy of layer %s in %s: %m", d->digest,
					    s->dir);
		else if ((size_t) n < want)
			r = log_error_errno(-EBADMSG, "The kept copy of layer %s in %s is short", d->digest, s->dir);
		else {
			done += (uint64_t) n;
			r = digest_sink_push(&h, buf, (size_t) n);
		}
	}
	char got[DIGEST_STRING_MAX];
	if (r >= 0)
		r = digest_final(&h.md, got);
	if (r >= 0 && !streq(got, d->digest))
		r = log_error_errno(-EBADMSG,
				    "Digest mismatch for the kept copy of layer %s in %s: its bytes hash to %s (the "
				    "disk changed them)",
				    d->digest, s->dir, got);
	digest_done(&h.md);
	return r;
}

int layer_spool_open(struct layer_spool *s, size_t index, struct layer_stream **ret_stream, bool *ret_kept)
{
	*ret_stream = NULL;
	*ret_kept = false;
	if (!s || index < s->first || index - s->first >= s->n)
		return 0;
	struct spool_slot *slot = &s->slots[index - s->first];
	*ret_kept = slot->complete;
	return blob_stream_new(slot->d, slot->complete ? kept_produce : tee_produce, slot, ret_stream);
}
