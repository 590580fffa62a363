/* SPDX-License-Identifier: Apache-2.0 */
/* oci/layer_spool.c: a kept layer is produced by the store once, read back
 * verified after that; a disk that changed it, or one without room, is
 * refused by name; nothing is left with a name in the directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "layer_spool.h"
#include "unlinked_fd.h"
#include "util.h"

#define SIZE (300u * 1024 + 7)

struct fake_store {
	unsigned produced; /* blobs the store was asked for */
	char data[SIZE];
};

static int fake_produce(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	struct fake_store *f = ctx;
	f->produced++;
	for (size_t done = 0; done < d->size;) {
		size_t n = d->size - done < 65536 ? d->size - done : 65536;
		int r = sink(sink_ctx, f->data + done, n);
		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

static uint64_t fake_received(void *ctx)
{
	(void) ctx;
	return 0;
}

struct fixture {
	char dir[64];
	struct fake_store store;
	struct manifest_store ms;
	struct descriptor layers[2];
	char digest[DIGEST_STRING_MAX];
	struct manifest m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/test-layer-spool.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (size_t i = 0; i < SIZE; i++)
		f->store.data[i] = (char) (i * 7 % 253);
	assert_int_equal(digest_buffer(f->store.data, SIZE, f->digest), 0);
	f->ms = (struct manifest_store){
		.name = "fake", .produce_blob = fake_produce, .bytes_received = fake_received, .ctx = &f->store
	};
	for (size_t i = 0; i < 2; i++)
		f->layers[i] = (struct descriptor){ .media_type = (char *) "application/vnd.oci.image.layer.v1.tar",
						    .digest = f->digest,
						    .size = SIZE };
	f->m = (struct manifest){ .kind = MANIFEST_IMAGE, .entries = f->layers, .n_entries = 2 };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rmdir(f->dir), 0); /* empty: nothing was left with a name */
	free(f);
	return 0;
}

/* Reads the stream to its end; returns its final result. */
static ssize_t drain(struct layer_stream *ls, const char *expect)
{
	static char buf[100000];
	size_t total = 0;
	ssize_t n;
	while ((n = ls->read(ls, buf, sizeof(buf))) > 0) {
		if (expect)
			assert_memory_equal(buf, expect + total, (size_t) n);
		total += (size_t) n;
	}
	ls->close(ls);
	return n;
}

static void test_second_read_from_spool(void **state)
{
	struct fixture *f = *state;
	struct layer_spool *s = NULL;
	assert_int_equal(layer_spool_new(f->dir, &f->m, 1, &f->ms, &s), 0);

	struct layer_stream *ls;
	bool kept;
	assert_int_equal(layer_spool_open(s, 0, &ls, &kept), 0); /* layer 0 is not kept */
	assert_null(ls);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(layer_spool_open(s, 1, &ls, &kept), 0);
		assert_non_null(ls);
		assert_int_equal(kept, round > 0);
		assert_int_equal(drain(ls, f->store.data), 0);
	}
	assert_int_equal(f->store.produced, 1);
	layer_spool_free(s);
}

static void test_changed_on_disk(void **state)
{
	struct fixture *f = *state;
	struct layer_spool *s = NULL;
	assert_int_equal(layer_spool_new(f->dir, &f->m, 1, &f->ms, &s), 0);
	struct layer_stream *ls;
	bool kept;
	assert_int_equal(layer_spool_open(s, 1, &ls, &kept), 0);
	assert_int_equal(drain(ls, NULL), 0);

	int fd = unlinked_fd_in(f->dir);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 1000), 1); /* the disk flips a byte */
	assert_int_equal(layer_spool_open(s, 1, &ls, &kept), 0);
	assert_true(kept);
	assert_int_equal(drain(ls, NULL), -EBADMSG);
	assert_int_equal(f->store.produced, 1);
	layer_spool_free(s);
}

static void test_no_room(void **state)
{
	struct fixture *f = *state;
	/* claims bigger than any disk: refused before a byte is fetched */
	f->layers[1].size = UINT64_MAX / 4;
	struct layer_spool *s = NULL;
	assert_int_equal(layer_spool_new(f->dir, &f->m, 1, &f->ms, &s), -ENOSPC);
	assert_null(s);
	assert_int_equal(f->store.produced, 0);
	f->layers[1].size = SIZE;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_second_read_from_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_room, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
