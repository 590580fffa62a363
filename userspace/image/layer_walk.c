/* SPDX-License-Identifier: Apache-2.0 */
#include "layer_walk.h"

#include "util.h"

int layer_walk(struct image_source *src, size_t index, struct layer_walk *w)
{
	w->index = index;
	w->ls = NULL;
	w->lr = NULL;
	w->ordinal = 0;
	w->stream_bytes = 0;
	int r = src->open_layer(src, index, &w->ls);
	if (r < 0)
		return r;
	r = layer_reader_open(w->ls, w->budget, &w->lr);
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
	return r;
}
