/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: a layer blob as a registry serves it, through our gzip/zstd
 * decompression (with its bomb budget), libarchive's tar parser and the
 * reader thread between them. The first byte picks the media type; the
 * rest is the blob. Entries and their data are read as the builder reads
 * them, with the expansion budget nearly spent so that one input stays
 * fast (the 1 GiB floor would otherwise let a 50-byte zstd input decompress
 * a gigabyte) and the bomb refusal is reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layer_reader.h"
#include "log.h"

#define READ_MAX (8u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem_stream {
	struct layer_stream ls;
	const uint8_t *data;
	size_t size, pos;
};

static ssize_t mem_read(struct layer_stream *ls, void *buf, size_t size)
{
	struct mem_stream *m = ls->userdata;
	size_t n = m->size - m->pos < size ? m->size - m->pos : size;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t) n;
}

static void mem_close(struct layer_stream *ls)
{
	(void) ls;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
	};
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	if (size < 1)
		return 0;
	struct mem_stream m = { .data = data + 1, .size = size - 1 };
	m.ls = (struct layer_stream){
		.digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000",
		.media_type = types[data[0] % 3],
		.size = size - 1,
		.read = mem_read,
		.close = mem_close,
		.userdata = &m,
	};
	/* Start the budget near its 1 GiB floor: the limit is hit in a few MiB,
	 * so inputs that reach it stay fast and the refusal is exercised. */
	struct expansion_budget budget = { .expanded = (1u << 30) - READ_MAX };
	struct layer_reader *lr = NULL;
	if (layer_reader_open(&m.ls, &budget, &lr) < 0)
		return 0;
	uint64_t read = 0;
	int r;
	for (;;) {
		struct flatten_entry e;
		r = layer_reader_next(lr, &e);
		if (r <= 0 || !e.path)
			break;
		int64_t last = -1;
		for (;;) {
			const void *buf;
			size_t n;
			int64_t offset;
			r = layer_reader_read_data(lr, &buf, &n, &offset);
			if (r <= 0)
				break;
			/* What write_entry_data() relies on being checkable. */
			if (offset < last)
				break;
			last = offset;
			read += n;
			if (read > READ_MAX)
				break;
		}
		if (r < 0 || read > READ_MAX)
			break;
	}
	if (r == 0 && read <= READ_MAX)
		(void) layer_reader_finish(lr);
	layer_reader_free(lr);
	return 0;
}
