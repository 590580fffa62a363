/* SPDX-License-Identifier: Apache-2.0 */
#include "layer_walk.h"

#include "util.h"

static int read_tar_data(void *lr, const void **buf, size_t *size, int64_t *offset)
{
	return layer_reader_read_data(lr, buf, size, offset);
}

static int check_tar(void *lr)
{
	return layer_reader_check(lr);
}

int layer_walk_stream(struct image_source *src, size_t index, struct layer_walk *w)
{
	w->index = index;
	w->digest = src->layer_digest(src, index);
	w->ls = NULL;
	w->lr = NULL;
	w->ordinal = 0;
	w->stream_bytes = 0;
	int r = src->open_layer(src, index, &w->ls);
	if (r < 0)
		return r;
	w->digest = w->ls->digest;
	r = layer_reader_open(w->ls, w->budget, &w->lr);
	w->read_data = read_tar_data;
	w->check = check_tar;
	w->data_ctx = w->lr;
	w->data_sha256 = NULL;
	for (; r >= 0; w->ordinal++) {
		struct flatten_entry e;
		r = layer_reader_next(w->lr, &e);
		if (r == 0 && w->archive_end)
			r = w->archive_end(w);
		if (r <= 0)
			break;
		r = w->entry(w, &e);
		if (r > 0) {
			r = 0; /* the caller has all it wanted */
			break;
		}
	}
	if (r == 0)
		r = layer_reader_finish(w->lr);
	if (r == 0) /* the reader thread is done: its count is final */
		w->stream_bytes = layer_reader_stream_bytes(w->lr);
	layer_reader_free(TAKE_PTR(w->lr));
	w->ls->close(w->ls);
	w->index = index;
	w->ls = NULL;
	w->data_ctx = NULL;
	return r;
}

int layer_walk(struct image_source *src, size_t index, struct layer_walk *w)
{
	if (src->walk_layer)
		return src->walk_layer(src, index, w);
	return layer_walk_stream(src, index, w);
}
