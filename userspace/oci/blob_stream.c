/* SPDX-License-Identifier: Apache-2.0 */
#include "blob_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Big enough to ride out bursts on either side, small enough that a few
 * streams open at once stay far below the memory budget. */
#define RING_SIZE (2u * 1024 * 1024)
/* A reader that stops early usually met garbage: finishing a small rest
 * lets the digest check say whether the bytes were corrupt, which is the
 * real cause. A big rest is not worth the wait. */
#define DRAIN_MAX (64u * 1024 * 1024)

struct blob_stream {
	struct layer_stream stream;
	struct descriptor d;
	blob_producer_t produce;
	void *produce_ctx;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	char *ring;
	size_t head; /* next byte to read */
	size_t used;
	bool finished;  /* the producer returned */
	int result;     /* what it returned */
	bool cancelled; /* the reader went away */
	bool draining;  /* the reader went away; finish the verification */
	uint64_t consumed;
};

static int ring_push(void *userdata, const void *data, size_t size)
{
	struct blob_stream *bs = userdata;
	const char *p = data;
	int r = 0;
	pthread_mutex_lock(&bs->lock);
	while (size > 0) {
		while (bs->used == RING_SIZE && !bs->cancelled && !bs->draining)
			pthread_cond_wait(&bs->changed, &bs->lock);
		if (bs->cancelled) {
			r = -ECANCELED;
			break;
		}
		if (bs->draining)
			break; /* nobody reads: the bytes only feed the digest */
		size_t tail = (bs->head + bs->used) % RING_SIZE;
		size_t n = RING_SIZE - bs->used;
		if (n > RING_SIZE - tail)
			n = RING_SIZE - tail;
		if (n > size)
			n = size;
		memcpy(bs->ring + tail, p, n);
		bs->used += n;
		p += n;
		size -= n;
		pthread_cond_broadcast(&bs->changed);
	}
	pthread_mutex_unlock(&bs->lock);
	return r;
}

static void *producer_thread(void *userdata)
{
	struct blob_stream *bs = userdata;
	int r = bs->produce(bs->produce_ctx, &bs->d, ring_push, bs);
	pthread_mutex_lock(&bs->lock);
	bs->finished = true;
	bs->result = r;
	pthread_cond_broadcast(&bs->changed);
	pthread_mutex_unlock(&bs->lock);
	return NULL;
}

static ssize_t blob_stream_read(struct layer_stream *ls, void *buf, size_t size)
{
	struct blob_stream *bs = ls->userdata;
	pthread_mutex_lock(&bs->lock);
	while (bs->used == 0 && !bs->finished)
		pthread_cond_wait(&bs->changed, &bs->lock);
	ssize_t r;
	if (bs->used == 0)
		/* Only now is the digest known to match: the end is the verdict. */
		r = bs->result < 0 ? bs->result : 0;
	else {
		size_t n = bs->used;
		if (n > RING_SIZE - bs->head)
			n = RING_SIZE - bs->head;
		if (n > size)
			n = size;
		memcpy(buf, bs->ring + bs->head, n);
		bs->head = (bs->head + n) % RING_SIZE;
		bs->used -= n;
		bs->consumed += n;
		pthread_cond_broadcast(&bs->changed);
		r = (ssize_t) n;
	}
	pthread_mutex_unlock(&bs->lock);
	return r;
}

static void blob_stream_free(struct blob_stream *bs)
{
	if (bs->thread_started) {
		pthread_mutex_lock(&bs->lock);
		if (!bs->finished && bs->d.size - bs->consumed <= DRAIN_MAX)
			bs->draining = true;
		else
			bs->cancelled = true;
		pthread_cond_broadcast(&bs->changed);
		pthread_mutex_unlock(&bs->lock);
		pthread_join(bs->thread, NULL);
	}
	pthread_mutex_destroy(&bs->lock);
	pthread_cond_destroy(&bs->changed);
	free(bs->ring);
	free(bs->d.media_type);
	free(bs->d.digest);
	free(bs);
}

static void blob_stream_close(struct layer_stream *ls)
{
	blob_stream_free(ls->userdata);
}

int blob_stream_new(const struct descriptor *d, blob_producer_t produce, void *ctx, struct layer_stream **ret)
{
	struct blob_stream *bs = calloc(1, sizeof(*bs));
	if (!bs)
		return -ENOMEM;
	pthread_mutex_init(&bs->lock, NULL);
	pthread_cond_init(&bs->changed, NULL);
	bs->produce = produce;
	bs->produce_ctx = ctx;
	bs->d.size = d->size;
	bs->d.digest = strdup(d->digest);
	bs->d.media_type = d->media_type ? strdup(d->media_type) : NULL;
	bs->ring = malloc(RING_SIZE);
	if (!bs->d.digest || (d->media_type && !bs->d.media_type) || !bs->ring) {
		blob_stream_free(bs);
		return -ENOMEM;
	}
	bs->stream = (struct layer_stream){
		.digest = bs->d.digest,
		.media_type = bs->d.media_type,
		.size = bs->d.size,
		.read = blob_stream_read,
		.close = blob_stream_close,
		.userdata = bs,
	};
	int r = -pthread_create(&bs->thread, NULL, producer_thread, bs);
	if (r < 0) {
		blob_stream_free(bs);
		return r;
	}
	bs->thread_started = true;
	*ret = &bs->stream;
	return 0;
}
