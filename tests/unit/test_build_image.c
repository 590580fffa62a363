/* SPDX-License-Identifier: Apache-2.0 */
/* build_image_squashfs() end to end on in-memory layers: a valid image, a
 * refused layer and a stream failing its digest leave no output behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqfs/io.h>
#include <sqfs/super.h>

#include "build_image.h"
#include "sqfs_extract.h"
#include "log.h"
#include "util.h"

struct mem_layer {
	uint8_t *data;
	size_t size;
	const char *media_type;
	ssize_t fail_at; /* -1: never; else return -EBADMSG once this many bytes were read */
	size_t claimed;  /* the descriptor's size; 0: size */
};

struct mem_stream {
	struct layer_stream base;
	const struct mem_layer *layer;
	size_t pos;
};

struct mem_source {
	struct image_source base;
	struct mem_layer *layers;
};

static ssize_t mem_read(struct layer_stream *ls, void *buf, size_t size)
{
	struct mem_stream *s = (struct mem_stream *) ls;
	size_t left = s->layer->size - s->pos;
	if (s->layer->fail_at >= 0 && s->pos >= (size_t) s->layer->fail_at)
		return -EBADMSG;
	if (size > left)
		size = left;
	if (size > 1000)
		size = 1000; /* short reads on purpose */
	memcpy(buf, s->layer->data + s->pos, size);
	s->pos += size;
	return (ssize_t) size;
}

static void mem_close(struct layer_stream *ls)
{
	free(ls);
}

static int mem_open(struct image_source *src, size_t i, struct layer_stream **out)
{
	struct mem_source *m = (struct mem_source *) src;
	struct mem_stream *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->layer = &m->layers[i];
	s->base = (struct layer_stream){ .digest = "sha256:mem",
					 .media_type = m->layers[i].media_type,
					 .size = m->layers[i].claimed ?: m->layers[i].size,
					 .read = mem_read,
					 .close = mem_close };
	*out = &s->base;
	return 0;
}

static const char *mem_digest(struct image_source *src, size_t i)
{
	(void) src;
	(void) i;
	return "sha256:mem";
}

static uint64_t mem_size(struct image_source *src, size_t i)
{
	return ((struct mem_source *) src)->layers[i].size;
}

static struct mem_source mem_source_of(struct mem_layer *layers, size_t n)
{
	return (struct mem_source){
		.base = { .n_layers = n, .open_layer = mem_open, .layer_digest = mem_digest, .layer_size = mem_size },
		.layers = layers
	};
}

/* A tar (gzip when asked) with a few entries; names are "path:type". */
static void make_layer(struct mem_layer *l, bool gzip, const char *const *entries)
{
	struct archive *a = archive_write_new();
	size_t cap = 1 << 20, used = 0;
	l->data = malloc(cap);
	assert_non_null(l->data);
	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, l->data, cap, &used), ARCHIVE_OK);
	for (const char *const *e = entries; *e; e++) {
		struct archive_entry *ae = archive_entry_new();
		char path[256];
		const char *colon = strchr(*e, ':');
		snprintf(path, sizeof(path), "%.*s", (int) (colon - *e), *e);
		archive_entry_set_pathname(ae, path);
		archive_entry_set_mtime(ae, 1700000000, 0);
		switch (colon[1]) {
		case 'd':
			archive_entry_set_mode(ae, S_IFDIR | 0755);
			break;
		case 'l': /* "name:l" links to "target", "name:l=T" to T */
			archive_entry_set_mode(ae, S_IFLNK | 0777);
			archive_entry_set_symlink(ae, colon[2] == '=' ? colon + 3 : "target");
			break;
		default:
			archive_entry_set_mode(ae, S_IFREG | 0644);
			archive_entry_set_size(ae, 300000);
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (colon[1] == 'f') {
			static uint8_t data[300000];
			for (size_t i = 0; i < sizeof(data); i++)
				data[i] = (uint8_t) (i * 7 + (size_t) e);
			assert_int_equal(archive_write_data(a, data, sizeof(data)), (la_ssize_t) sizeof(data));
		}
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	l->size = used;
	l->media_type = gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar";
	l->fail_at = -1;
	l->claimed = 0;
}

static char *make_tmpdir(void)
{
	char *d = strdup("/tmp/test_build_image.XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));)
		n += de->d_name[0] != '.' || strncmp(de->d_name, ".tmp-", 5) == 0;
	closedir(d);
	return n;
}

static void cleanup_dir(const char *dir)
{
	DIR *d = opendir(dir);
	char p[512];
	for (struct dirent *de; d && (de = readdir(d));) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void test_build_and_read_back(void **state)
{
	(void) state;
	static const char *const l0[] = { "etc:d", "etc/a:f", "etc/b:f", "gone:d", "gone/x:f", "lnk:l", NULL };
	static const char *const l1[] = { ".wh.gone:f", "etc/c:f", NULL };
	struct mem_layer layers[2];
	make_layer(&layers[0], true, l0);
	make_layer(&layers[1], false, l1);
	struct mem_source src = mem_source_of(layers, 2);
	_cleanup_free_ char *dir = make_tmpdir();
	char out[512];
	snprintf(out, sizeof(out), "%s/image.squashfs", dir);

	struct build_options opts;
	struct build_stats stats;
	build_options_init(&opts);
	opts.threads = 2;
	assert_int_equal(build_image_squashfs(&src.base, out, &opts, &stats), 0);
	assert_int_equal(count_files(dir), 1);
	assert_int_equal(stats.entries, 6); /* / etc a b c lnk */
	assert_int_equal(stats.skipped_bytes, 300000);
	assert_int_equal(stats.wasted_bytes, 0);

	sqfs_file_t *f = sqfs_open_file(out, SQFS_FILE_OPEN_READ_ONLY);
	assert_non_null(f);
	sqfs_super_t super;
	assert_int_equal(sqfs_super_read(&super, f), 0);
	assert_int_equal(super.inode_count, 6);
	/* The default: zstd (GRUB boots the kernel beside the image). */
	assert_int_equal(super.compression_id, SQFS_COMP_ZSTD);
	assert_int_equal(super.bytes_used <= f->get_size(f), 1);
	assert_int_equal(f->get_size(f) % 4096, 0);
	sqfs_destroy(f);

	/* without the pre-scan the shadowed data is written and reported */
	opts.no_prescan = true;
	assert_int_equal(build_image_squashfs(&src.base, out, &opts, &stats), 0);
	assert_int_equal(stats.skipped_bytes, 0);
	assert_int_equal(stats.wasted_bytes, 300000);

	cleanup_dir(dir);
	free(layers[0].data);
	free(layers[1].data);
}

static bool same_file(const char *a, const char *b)
{
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

/* The kernel beside the image (sqfs_extract_file): links resolved inside
 * the image only, ".." stopping at its root; anything but a regular file of
 * at most max bytes refused, with nothing written. */
static void test_extract_boot_files(void **state)
{
	(void) state;
	static const char *const l0[] = { "boot:d",
					  "boot/vmlinuz-6.1:f",
					  "boot/vmlinuz:l=vmlinuz-6.1",
					  "boot/initrd.real:f",
					  "boot/initrd:l=/boot/../boot/./initrd.real",
					  "boot/up:l=../../../../boot/vmlinuz-6.1",
					  "boot/dir:l=/boot",
					  "boot/via-dir:l=dir/vmlinuz-6.1",
					  "boot/host:l=/etc/passwd",
					  "boot/loop:l=loop",
					  "boot/dangling:l=nothing",
					  "boot/through-file:l=vmlinuz-6.1/x",
					  "etc:d",
					  NULL };
	struct mem_layer layers[1];
	make_layer(&layers[0], true, l0);
	struct mem_source src = mem_source_of(layers, 1);
	_cleanup_free_ char *dir = make_tmpdir();
	char img[512], out[512], ref[512];
	snprintf(img, sizeof(img), "%s/image.squashfs", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(ref, sizeof(ref), "%s/ref", dir);
	assert_int_equal(build_image_squashfs(&src.base, img, NULL, NULL), 0);

	assert_int_equal(sqfs_extract_file(img, "/boot/vmlinuz-6.1", ref, 1 << 20), 0);
	struct stat st;
	assert_int_equal(stat(ref, &st), 0);
	assert_int_equal(st.st_size, 300000);
	assert_int_equal(st.st_mode & 07777, 0644);
	static const char *const same[] = { "/boot/vmlinuz", "/boot/up", "/boot/via-dir", "boot//./vmlinuz" };
	for (size_t i = 0; i < ELEMENTSOF(same); i++) {
		assert_int_equal(sqfs_extract_file(img, same[i], out, 1 << 20), 0);
		assert_true(same_file(out, ref));
		assert_int_equal(unlink(out), 0);
	}
	assert_int_equal(sqfs_extract_file(img, "/boot/initrd", out, 1 << 20), 0);
	assert_false(same_file(out, ref)); /* initrd.real's bytes */
	assert_int_equal(unlink(out), 0);

	/* Refused, and nothing written: the host's /etc/passwd is not the image's. */
	static const char *const refused[] = { "/boot/host", "/boot/loop",    "/boot/dangling", "/boot/through-file",
					       "/etc",       "/boot/missing", "/boot/dir" };
	size_t before = count_files(dir);
	for (size_t i = 0; i < ELEMENTSOF(refused); i++)
		assert_int_equal(sqfs_extract_file(img, refused[i], out, 1 << 20), -ENOEXEC);
	assert_int_equal(sqfs_extract_file(img, "/boot/vmlinuz", out, 299999), -ENOEXEC); /* too large */
	assert_int_equal(count_files(dir), before);
	/* Not a squashfs: refused as unreadable. */
	assert_int_equal(sqfs_extract_file(ref, "/boot/vmlinuz", out, 1 << 20), -EBADMSG);
	assert_int_equal(count_files(dir), before);

	cleanup_dir(dir);
	free(layers[0].data);
}

static void test_failures_leave_nothing(void **state)
{
	(void) state;
	static const char *const ok[] = { "a:f", NULL };
	static const char *const evil[] = { "a:d", "../evil:f", NULL };
	struct mem_layer layers[1];
	struct mem_source src = mem_source_of(layers, 1);
	_cleanup_free_ char *dir = make_tmpdir();
	char out[512];
	snprintf(out, sizeof(out), "%s/image.squashfs", dir);

	make_layer(&layers[0], true, evil);
	assert_int_equal(build_image_squashfs(&src.base, out, NULL, NULL), -EBADMSG);
	assert_int_equal(count_files(dir), 0);
	free(layers[0].data);

	/* over the image's bound on entries (tar entries and implied directories) */
	static const char *const many[] = { "a/b:f", "c:f", NULL };
	struct build_options opts;
	build_options_init(&opts);
	opts.max_entries = 2;
	make_layer(&layers[0], false, many);
	assert_int_equal(build_image_squashfs(&src.base, out, &opts, NULL), -EFBIG);
	assert_int_equal(count_files(dir), 0);
	opts.max_entries = 3;
	assert_int_equal(build_image_squashfs(&src.base, out, &opts, NULL), 0);
	assert_int_equal(unlink(out), 0);
	free(layers[0].data);

	/* the producer's digest check fails at the end of the stream */
	make_layer(&layers[0], true, ok);
	layers[0].fail_at = (ssize_t) layers[0].size;
	assert_int_equal(build_image_squashfs(&src.base, out, NULL, NULL), -EBADMSG);
	assert_int_equal(count_files(dir), 0);
	/* a blob longer than its descriptor says: cut off, whatever the source */
	layers[0].fail_at = -1;
	layers[0].claimed = layers[0].size - 10;
	assert_int_equal(build_image_squashfs(&src.base, out, NULL, NULL), -EBADMSG);
	assert_int_equal(count_files(dir), 0);
	layers[0].claimed = 0;
	/* a truncated gzip stream */
	layers[0].fail_at = -1;
	layers[0].size -= 10;
	assert_int_equal(build_image_squashfs(&src.base, out, NULL, NULL), -EBADMSG);
	assert_int_equal(count_files(dir), 0);
	free(layers[0].data);
	cleanup_dir(dir);
}

static void test_parse_compression(void **state)
{
	(void) state;
	struct build_options o;
	build_options_init(&o);
	assert_int_equal(o.compressor, BUILD_COMPRESSOR_ZSTD);
	assert_int_equal(o.level, 6);
	assert_int_equal(build_options_parse_compression(&o, "gzip"), 0);
	assert_int_equal(o.compressor, BUILD_COMPRESSOR_GZIP);
	assert_int_equal(o.level, 1);
	assert_int_equal(build_options_parse_compression(&o, "zstd"), 0);
	assert_int_equal(o.level, 6);
	assert_int_equal(build_options_parse_compression(&o, "gzip:10"), -EINVAL);
	assert_int_equal(build_options_parse_compression(&o, "zstd:19"), 0);
	assert_int_equal(o.level, 19);
	assert_int_equal(build_options_parse_compression(&o, "xz"), 0);
	assert_int_equal(o.compressor, BUILD_COMPRESSOR_XZ);
	assert_int_equal(o.level, 0);
	assert_int_equal(build_options_parse_compression(&o, "gzip:9"), 0);
	assert_int_equal(build_options_parse_compression(&o, "lz4"), 0);
	assert_int_equal(build_options_parse_compression(&o, "lz4:3"), -EINVAL);
	assert_int_equal(build_options_parse_compression(&o, "zstd:"), -EINVAL);
	assert_int_equal(build_options_parse_compression(&o, "zstd:x"), -EINVAL);
	assert_int_equal(build_options_parse_compression(&o, "lzo"), -EINVAL);
	assert_int_equal(build_options_parse_compression(&o, "zst"), -EINVAL);
}

/* One 512-byte ustar header. */
static void tar_header(uint8_t *h, const char *name, char type, uint64_t size)
{
	memset(h, 0, 512);
	snprintf((char *) h, 100, "%s", name);
	snprintf((char *) h + 100, 8, "%07o", 0644);
	snprintf((char *) h + 108, 8, "%07o", 0);
	snprintf((char *) h + 116, 8, "%07o", 0);
	snprintf((char *) h + 124, 12, "%011llo", (unsigned long long) size);
	snprintf((char *) h + 136, 12, "%011o", 0);
	h[156] = (uint8_t) type;
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *) h + 148, 8, "%06o", sum);
}

/* A pax record "LEN key=value\n", LEN counting itself. */
static size_t pax_record(char *out, const char *key, unsigned long long value)
{
	char body[128];
	int n = snprintf(body, sizeof(body), " %s=%llu\n", key, value);
	int len = n + 1;
	while (snprintf(NULL, 0, "%d", len) + n != len)
		len++;
	return (size_t) sprintf(out, "%d%s", len, body);
}

/* A hand-made GNU sparse 1.0 (pax) tar: one file "big" of realsize bytes,
 * all hole but its last byte, as GNU tar --sparse-version=1.0 writes it. */
static void make_sparse_layer(struct mem_layer *l, uint64_t realsize)
{
	char pax[512] = "";
	size_t n = pax_record(pax, "GNU.sparse.major", 1);
	n += pax_record(pax + n, "GNU.sparse.minor", 0);
	n += pax_record(pax + n, "GNU.sparse.realsize", realsize);
	memcpy(pax + n, "20 GNU.sparse.name=big\n", 23);
	n += 23;
	l->data = calloc(6, 512);
	assert_non_null(l->data);
	tar_header(l->data, "PaxHeaders/big", 'x', n);
	memcpy(l->data + 512, pax, n);
	tar_header(l->data + 1024, "GNUSparseFile.0/big", '0', 512 + 1);
	snprintf((char *) l->data + 1536, 512, "1\n%llu\n1\n", (unsigned long long) realsize - 1);
	l->data[2048] = 'x';
	l->size = 6 * 512; /* two zero blocks end it */
	l->media_type = "application/vnd.oci.image.layer.v1.tar";
	l->fail_at = -1;
	l->claimed = 0;
}

/* Sparse files: holes are charged to the expansion budget before they are
 * written; a small one builds, 1 EiB is refused at once. */
static void test_sparse_holes_charged(void **state)
{
	(void) state;
	struct mem_layer layers[1];
	struct mem_source src = mem_source_of(layers, 1);
	_cleanup_free_ char *dir = make_tmpdir();
	char out[512];
	struct build_stats stats;
	snprintf(out, sizeof(out), "%s/image.squashfs", dir);

	make_sparse_layer(&layers[0], 3u << 20);
	assert_int_equal(build_image_squashfs(&src.base, out, NULL, &stats), 0);
	assert_int_equal(stats.tar_bytes, 3u << 20); /* the real size, from the pax header */
	assert_true(stats.output_bytes < 64 * 1024); /* holes stored as sparse blocks */
	assert_int_equal(unlink(out), 0);
	free(layers[0].data);

	make_sparse_layer(&layers[0], 1ull << 60);
	assert_int_equal(build_image_squashfs(&src.base, out, NULL, NULL), -EFBIG);
	assert_int_equal(count_files(dir), 0);
	free(layers[0].data);
	cleanup_dir(dir);
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1); /* failures below are expected */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_read_back), cmocka_unit_test(test_failures_leave_nothing),
		cmocka_unit_test(test_parse_compression),   cmocka_unit_test(test_sparse_holes_charged),
		cmocka_unit_test(test_extract_boot_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
