/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "blob_stream.h"
#include "util.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TOTAL (5u * 1024 * 1024 + 123)

struct fake {
	int result; /* what the producer returns after pushing everything */
	int sink_result;
	size_t pushed;
};

static int produce(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	struct fake *f = ctx;
	(void) d;
	static char chunk[70000];
	size_t done = 0;
	while (done < TOTAL) {
		size_t n = TOTAL - done < sizeof(chunk) ? TOTAL - done : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = (char) ((done + i) % 251);
		int r = sink(sink_ctx, chunk, n);
		if (r < 0) {
			f->sink_result = r;
			return r;
		}
		done += n;
		f->pushed = done;
	}
	return f->result;
}

static const struct descriptor desc = { .media_type = (char *) "application/vnd.oci.image.layer.v1.tar",
					.digest = (char *) D64,
					.size = TOTAL };

static ssize_t read_all(struct layer_stream *ls, size_t *total)
{
	static char buf[100000];
	ssize_t n;
	*total = 0;
	while ((n = ls->read(ls, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (char) ((*total + (size_t) i) % 251))
				fail_msg("byte %zu differs", *total + (size_t) i);
		*total += (size_t) n;
	}
	return n;
}

static void test_whole_blob(void **state)
{
	(void) state;
	struct fake f = { 0, 0, 0 };
	struct layer_stream *ls;
	assert_int_equal(blob_stream_new(&desc, produce, &f, &ls), 0);
	assert_string_equal(ls->digest, D64);
	assert_int_equal(ls->size, TOTAL);
	size_t total;
	assert_int_equal(read_all(ls, &total), 0);
	assert_int_equal(total, TOTAL);
	/* The end stays the end. */
	char c;
	assert_int_equal(ls->read(ls, &c, 1), 0);
	ls->close(ls);
}

static void test_failure_is_the_verdict(void **state)
{
	(void) state;
	struct fake f = { -EBADMSG, 0, 0 };
	struct layer_stream *ls;
	assert_int_equal(blob_stream_new(&desc, produce, &f, &ls), 0);
	size_t total;
	assert_int_equal(read_all(ls, &total), -EBADMSG);
	assert_int_equal(total, TOTAL);
	ls->close(ls);
}

static void test_early_close_drains_a_small_rest(void **state)
{
	(void) state;
	struct fake f = { 0, 0, 0 };
	struct layer_stream *ls;
	assert_int_equal(blob_stream_new(&desc, produce, &f, &ls), 0);
	char buf[10];
	assert_true(ls->read(ls, buf, sizeof(buf)) > 0);
	ls->close(ls); /* must not hang on a full buffer */
	assert_int_equal(f.sink_result, 0);
	assert_int_equal(f.pushed, TOTAL);
}

static void test_early_close_cancels_a_big_rest(void **state)
{
	(void) state;
	struct fake f = { 0, 0, 0 };
	struct descriptor big = desc;
	big.size = 1ull << 32; /* what the stream believes is left */
	struct layer_stream *ls;
	assert_int_equal(blob_stream_new(&big, produce, &f, &ls), 0);
	char buf[10];
	assert_true(ls->read(ls, buf, sizeof(buf)) > 0);
	ls->close(ls);
	assert_int_equal(f.sink_result, -ECANCELED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_blob),
		cmocka_unit_test(test_failure_is_the_verdict),
		cmocka_unit_test(test_early_close_drains_a_small_rest),
		cmocka_unit_test(test_early_close_cancels_a_big_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
