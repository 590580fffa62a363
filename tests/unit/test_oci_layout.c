/* SPDX-License-Identifier: Apache-2.0 */
/* pull_source over an OCI layout written here: resolution by tag, through
 * an index, and verification of every byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "log.h"
#include "oci_layout.h"
#include "util.h"

static char dir[] = "/tmp/test-oci-layout.XXXXXX";
static char layer_digest[DIGEST_STRING_MAX];
static char layer_bytes[5000];

static void write_file(const char *name, const void *data, size_t size)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, size, f), size);
	fclose(f);
}

/* Stores data as a blob; returns its digest in out. */
static void write_blob(const void *data, size_t size, char out[static DIGEST_STRING_MAX])
{
	assert_int_equal(digest_buffer(data, size, out), 0);
	char name[128];
	snprintf(name, sizeof(name), "blobs/sha256/%s", out + 7);
	write_file(name, data, size);
}

static int setup(void **state)
{
	(void) state;
	log_set_max_level(LOG_LEVEL_ERROR);
	assert_non_null(mkdtemp(dir));
	char path[512];
	snprintf(path, sizeof(path), "%s/blobs", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/blobs/sha256", dir);
	mkdir(path, 0755);
	write_file("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);

	for (size_t i = 0; i < sizeof(layer_bytes); i++)
		layer_bytes[i] = (char) (i * 7);
	write_blob(layer_bytes, sizeof(layer_bytes), layer_digest);
	char config_digest[DIGEST_STRING_MAX], manifest_digest[DIGEST_STRING_MAX], index_digest[DIGEST_STRING_MAX];
	const char *config = "{\"os\":\"linux\",\"architecture\":\"riscv64\"}";
	write_blob(config, strlen(config), config_digest);

	char manifest[1024];
	int n = snprintf(manifest, sizeof(manifest),
			 "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\","
			 "\"config\":{\"mediaType\":\"application/"
			 "vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
			 "\"layers\":[{\"mediaType\":\"application/"
			 "vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
			 config_digest, strlen(config), layer_digest, sizeof(layer_bytes));
	write_blob(manifest, (size_t) n, manifest_digest);

	char index[1024];
	int m = snprintf(
		index, sizeof(index),
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\","
		"\"digest\":\"%s\",\"size\":%d,\"platform\":{\"os\":\"linux\",\"architecture\":\"riscv64\"}}]}",
		manifest_digest, n);
	write_blob(index, (size_t) m, index_digest);

	char top[2048];
	int k = snprintf(top, sizeof(top),
			 "{\"schemaVersion\":2,\"manifests\":["
			 "{\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%d,"
			 "\"annotations\":{\"org.opencontainers.image.ref.name\":\"img\"}},"
			 "{\"mediaType\":\"" MEDIA_TYPE_OCI_INDEX "\",\"digest\":\"%s\",\"size\":%d,"
			 "\"annotations\":{\"org.opencontainers.image.ref.name\":\"multi\"}}]}",
			 manifest_digest, n, index_digest, m);
	write_file("index.json", top, (size_t) k);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int pull(const char *tag, const char *platform, struct image_source **src, struct manifest_store *store,
		char digest[static DIGEST_STRING_MAX])
{
	char spec[600];
	snprintf(spec, sizeof(spec), "%s:%s", dir, tag);
	_cleanup_free_ char *object = NULL;
	assert_int_equal(oci_layout_open(spec, store, &object), 0);
	assert_string_equal(object, tag);
	struct platform p;
	assert_int_equal(platform_parse(platform, &p), 0);
	int r = pull_source_new(store, object, &p, true, NULL, src, digest);
	platform_done(&p);
	return r;
}

static ssize_t read_layer(struct image_source *src, size_t *total)
{
	struct layer_stream *ls;
	assert_int_equal(src->open_layer(src, 0, &ls), 0);
	char buf[1000];
	ssize_t n;
	*total = 0;
	while ((n = ls->read(ls, buf, sizeof(buf))) > 0) {
		assert_memory_equal(buf, layer_bytes + *total, (size_t) n);
		*total += (size_t) n;
	}
	ls->close(ls);
	return n;
}

static void test_by_tag_and_index(void **state)
{
	(void) state;
	static const char *const tags[] = { "img", "multi" };
	for (size_t i = 0; i < ELEMENTSOF(tags); i++) {
		struct image_source *src;
		struct manifest_store store;
		char digest[DIGEST_STRING_MAX];
		assert_int_equal(pull(tags[i], "linux/riscv64", &src, &store, digest), 0);
		assert_int_equal(src->n_layers, 1);
		assert_string_equal(src->layer_digest(src, 0), layer_digest);
		assert_int_equal(src->layer_size(src, 0), sizeof(layer_bytes));
		size_t total;
		assert_int_equal(read_layer(src, &total), 0);
		assert_int_equal(total, sizeof(layer_bytes));
		pull_source_free(src);
		oci_layout_close(&store);
	}
}

static void test_wrong_platform_and_tag(void **state)
{
	(void) state;
	struct image_source *src;
	struct manifest_store store;
	char digest[DIGEST_STRING_MAX];
	assert_int_equal(pull("multi", "linux/amd64", &src, &store, digest), -ENOENT);
	oci_layout_close(&store);
	assert_int_equal(pull("img", "linux/amd64", &src, &store, digest), -ENOENT);
	oci_layout_close(&store);
	assert_int_equal(pull("nope", "linux/riscv64", &src, &store, digest), -ENOENT);
	oci_layout_close(&store);
}

static void test_tampered_layer(void **state)
{
	(void) state;
	char name[128];
	snprintf(name, sizeof(name), "blobs/sha256/%s", layer_digest + 7);
	layer_bytes[4000] ^= 1;
	write_file(name, layer_bytes, sizeof(layer_bytes));
	layer_bytes[4000] ^= 1;

	struct image_source *src;
	struct manifest_store store;
	char digest[DIGEST_STRING_MAX];
	assert_int_equal(pull("img", "linux/riscv64", &src, &store, digest), 0);
	struct layer_stream *ls;
	assert_int_equal(src->open_layer(src, 0, &ls), 0);
	char buf[sizeof(layer_bytes)];
	ssize_t n, total = 0;
	while ((n = ls->read(ls, buf, sizeof(buf))) > 0)
		total += n;
	assert_int_equal(n, -EBADMSG);
	ls->close(ls);
	pull_source_free(src);
	oci_layout_close(&store);
	write_file(name, layer_bytes, sizeof(layer_bytes));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_tag_and_index),
		cmocka_unit_test(test_wrong_platform_and_tag),
		cmocka_unit_test(test_tampered_layer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
