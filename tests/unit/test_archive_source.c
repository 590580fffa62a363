/* SPDX-License-Identifier: Apache-2.0 */
/* docker-archive: and oci-archive: sources over tars written here with
 * libarchive: a good image of each kind, from a file and from a pipe on
 * standard input, and each hostile archive refused with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_archive.h"
#include "log.h"
#include "oci_layout.h"
#include "tar_archive.h"
#include "util.h"

static char dir[] = "/tmp/test-archive-source.XXXXXX";
static char path[600];
static char layer[3000];
static char layer_digest[DIGEST_STRING_MAX];

enum { F_REG, F_LINK, F_DEV };
struct entry {
	const char *name;
	const char *data; /* NULL: layer */
	size_t size;
	int kind;
};

static void write_tar(const struct entry *e, size_t n)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		const char *data = e[i].data ?: layer;
		size_t size = e[i].data ? e[i].size ?: strlen(data) : sizeof(layer);
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_perm(ae, 0644);
		if (e[i].kind == F_LINK) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, "../../etc/passwd");
			size = 0;
		} else if (e[i].kind == F_DEV) {
			archive_entry_set_filetype(ae, AE_IFCHR);
			size = 0;
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t) size);
		}
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (size)
			assert_int_equal(archive_write_data(a, data, size), (la_ssize_t) size);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

static char config[512];
static char manifest_json[512];

static int setup(void **state)
{
	(void) state;
	log_set_max_level(LOG_LEVEL_ERROR + 10 * !!getenv("VERBOSE"));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/image.tar", dir);
	for (size_t i = 0; i < sizeof(layer); i++)
		layer[i] = (char) (i * 13);
	assert_int_equal(digest_buffer(layer, sizeof(layer), layer_digest), 0);
	snprintf(config, sizeof(config),
		 "{\"os\":\"linux\",\"architecture\":\"riscv64\",\"rootfs\":{\"type\":\"layers\","
		 "\"diff_ids\":[\"%s\"]}}",
		 layer_digest);
	snprintf(manifest_json, sizeof(manifest_json),
		 "[{\"Config\":\"config.json\",\"RepoTags\":[\"docker.io/library/os:v1\"],\"Layers\":[\"l/"
		 "layer.tar\"]}]");
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	unlink(path);
	return rmdir(dir);
}

/* Opens the docker-archive and reads its layer: 0 or the first error. */
static int pull_docker(const char *spec)
{
	struct manifest_store store = {};
	_cleanup_free_ char *object = NULL;
	int r = docker_archive_open(spec, &store, &object);
	if (r < 0)
		return r;
	struct platform p = {};
	assert_int_equal(platform_parse("linux/riscv64", &p), 0);
	struct image_source *src = NULL;
	char digest[DIGEST_STRING_MAX];
	r = pull_source_new(&store, object, &p, true, NULL, &src, digest);
	platform_done(&p);
	for (size_t i = 0; r >= 0 && i < src->n_layers; i++) {
		struct layer_stream *ls;
		assert_int_equal(src->open_layer(src, i, &ls), 0);
		char buf[1000];
		ssize_t n;
		size_t total = 0;
		while ((n = ls->read(ls, buf, sizeof(buf))) > 0) {
			assert_memory_equal(buf, layer + total, (size_t) n);
			total += (size_t) n;
		}
		ls->close(ls);
		r = (int) n;
		if (r == 0)
			assert_int_equal(total, sizeof(layer));
	}
	pull_source_free(src);
	docker_archive_close(&store);
	return r;
}

static void test_docker_archive(void **state)
{
	(void) state;
	const struct entry good[] = {
		{ "manifest.json", manifest_json, 0, F_REG },
		{ "./config.json", config, 0, F_REG },
		{ "l/layer.tar", NULL, 0, F_REG },
		{ "other/layer.tar", "", 1, F_LINK }, /* what skopeo adds: kept, never followed */
	};
	write_tar(good, ELEMENTSOF(good));
	assert_int_equal(pull_docker(path), 0);
	char spec[700];
	snprintf(spec, sizeof(spec), "%s:os:v1", path);
	assert_int_equal(pull_docker(spec), 0);
	snprintf(spec, sizeof(spec), "%s:os:v2", path);
	assert_int_equal(pull_docker(spec), -ENOENT);
}

static void test_docker_archive_from_pipe(void **state)
{
	(void) state;
	write_tar((struct entry[]){ { "manifest.json", manifest_json, 0, F_REG },
				    { "config.json", config, 0, F_REG },
				    { "l/layer.tar", NULL, 0, F_REG } },
		  3);
	for (int budget_ok = 0; budget_ok < 2; budget_ok++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		int saved = dup(STDIN_FILENO);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			char buf[4096];
			int fd = open(path, O_RDONLY);
			ssize_t n;
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				if (write(p[1], buf, (size_t) n) != n)
					_exit(1);
			_exit(0);
		}
		close(p[1]);
		dup2(p[0], STDIN_FILENO);
		close(p[0]);
		struct tar_archive *t = NULL;
		int r = tar_archive_open_budget("-", "docker-archive", budget_ok ? 1 << 20 : 4096, &t);
		dup2(saved, STDIN_FILENO);
		close(saved);
		waitpid(pid, NULL, 0);
		assert_int_equal(r, budget_ok ? 0 : -EFBIG);
		uint64_t size = 0;
		if (budget_ok)
			assert_int_equal(tar_archive_find(t, "l/layer.tar", &size), 0);
		assert_int_equal(size, budget_ok ? sizeof(layer) : 0);
		tar_archive_free(t);
	}
}

/* Each archive is refused when it is opened or read, with its reason. */
static void test_docker_archive_hostile(void **state)
{
	(void) state;
	static char big[MANIFEST_SIZE_MAX + 100];
	char bad_config[512], missing[256], twolayers[256];
	snprintf(bad_config, sizeof(bad_config), "{\"rootfs\":{\"diff_ids\":[\"sha256:%064d\"]}}", 0);
	memset(big, ' ', sizeof(big));
	big[0] = '[';
	big[sizeof(big) - 1] = ']';
	snprintf(missing, sizeof(missing), "[{\"Config\":\"config.json\",\"Layers\":[\"nope/layer.tar\"]}]");
	snprintf(twolayers, sizeof(twolayers), "[{\"Config\":\"config.json\",\"Layers\":[\"link\"]}]");
	const struct entry M = { "manifest.json", manifest_json, 0, F_REG }, C = { "config.json", config, 0, F_REG },
			   L = { "l/layer.tar", NULL, 0, F_REG };
	const struct {
		struct entry e[4];
		size_t n;
		int error;
	} cases[] = {
		{ { M, C, L, { "../escape", "x", 0, F_REG } }, 4, -EBADMSG },
		{ { M, C, L, { "/etc/passwd", "x", 0, F_REG } }, 4, -EBADMSG },
		{ { M, C, L, { "a/../../b", "x", 0, F_REG } }, 4, -EBADMSG },
		{ { C, L }, 2, -ENOENT },                                              /* no manifest.json */
		{ { { "manifest.json", missing, 0, F_REG }, C, L }, 3, -ENOENT },      /* layer not in the tar */
		{ { M, { "config.json", bad_config, 0, F_REG }, L }, 3, -EBADMSG },    /* diff_id mismatch */
		{ { { "manifest.json", big, sizeof(big), F_REG }, C, L }, 3, -EFBIG }, /* huge manifest.json */
		{ { { "manifest.json", twolayers, 0, F_REG }, C, { "link", "", 1, F_LINK } }, 3, -ELOOP },
		{ { M, C, L, { "dev", "", 1, F_DEV } }, 4, -EBADMSG }, /* a device */
		{ { M, C, L, L }, 4, -EBADMSG },                       /* twice the same name */
		{ { M, M, C, L }, 4, -EBADMSG },
		{ { { "manifest.json", "{\"a\":1}", 0, F_REG }, C, L }, 3, -EBADMSG }, /* not a list */
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		write_tar(cases[i].e, cases[i].n);
		int r = pull_docker(path);
		if (r != cases[i].error)
			fail_msg("case %zu: %d, expected %d", i, r, cases[i].error);
	}
	/* Not a tar, and a compressed one. */
	FILE *f = fopen(path, "we");
	fputs("\x1f\x8b\x08 not really", f);
	fclose(f);
	assert_int_equal(pull_docker(path), -EPROTONOSUPPORT);
	f = fopen(path, "we");
	fputs("hello, this is not a tar archive at all", f);
	fclose(f);
	assert_int_equal(pull_docker(path), -EBADMSG);
	assert_int_equal(pull_docker(dir), -EISDIR);
}

/* More entries, or longer headers, than an image archive has: refused by
 * count and size before they cost time or memory. */
static void test_archive_bounds(void **state)
{
	(void) state;
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (unsigned i = 0; i < TAR_ARCHIVE_ENTRIES_MAX + 10; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%u", i);
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, 0);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
	struct tar_archive *t = NULL;
	assert_int_equal(tar_archive_open(path, "docker-archive", &t), -E2BIG);

	/* One pax header holding a 20 MiB name. */
	size_t n = 20u * 1024 * 1024;
	char *name = malloc(n + 1);
	assert_non_null(name);
	memset(name, 'a', n);
	name[n] = '\0';
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_size(ae, 0);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	archive_entry_free(ae);
	assert_int_equal(archive_write_free(a), ARCHIVE_OK);
	free(name);
	assert_int_equal(tar_archive_open(path, "docker-archive", &t), -EBADMSG);
}

static void test_oci_archive(void **state)
{
	(void) state;
	char oconfig_digest[DIGEST_STRING_MAX], manifest_digest[DIGEST_STRING_MAX], manifest[1024], index[1024];
	char lname[128], cname[128], mname[128];
	const char *oconfig = "{\"os\":\"linux\",\"architecture\":\"riscv64\"}";
	assert_int_equal(digest_buffer(oconfig, strlen(oconfig), oconfig_digest), 0);
	int n = snprintf(manifest, sizeof(manifest),
			 "{\"schemaVersion\":2,\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\","
			 "\"config\":{\"mediaType\":\"application/"
			 "vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
			 "\"layers\":[{\"mediaType\":\"application/"
			 "vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
			 oconfig_digest, strlen(oconfig), layer_digest, sizeof(layer));
	assert_int_equal(digest_buffer(manifest, (size_t) n, manifest_digest), 0);
	snprintf(index, sizeof(index),
		 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" MEDIA_TYPE_OCI_MANIFEST "\",\"digest\":\"%s\","
		 "\"size\":%d,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
		 manifest_digest, n);
	snprintf(lname, sizeof(lname), "blobs/sha256/%s", layer_digest + 7);
	snprintf(cname, sizeof(cname), "blobs/sha256/%s", oconfig_digest + 7);
	snprintf(mname, sizeof(mname), "blobs/sha256/%s", manifest_digest + 7);
	const struct entry e[] = {
		{ "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 0, F_REG },
		{ "index.json", index, 0, F_REG },
		{ mname, manifest, 0, F_REG },
		{ cname, oconfig, 0, F_REG },
		{ lname, NULL, 0, F_REG },
	};
	for (int tamper = 0; tamper < 2; tamper++) {
		layer[100] ^= (char) tamper;
		write_tar(e, ELEMENTSOF(e));
		layer[100] ^= (char) tamper;
		char spec[700];
		snprintf(spec, sizeof(spec), "%s:v1", path);
		struct manifest_store store = {};
		_cleanup_free_ char *object = NULL;
		assert_int_equal(oci_archive_open(spec, &store, &object), 0);
		assert_string_equal(object, "v1");
		struct platform p = {};
		assert_int_equal(platform_parse("linux/riscv64", &p), 0);
		struct image_source *src = NULL;
		char digest[DIGEST_STRING_MAX];
		assert_int_equal(pull_source_new(&store, object, &p, true, NULL, &src, digest), 0);
		platform_done(&p);
		assert_string_equal(digest, manifest_digest);
		struct layer_stream *ls;
		assert_int_equal(src->open_layer(src, 0, &ls), 0);
		char buf[1000];
		ssize_t k;
		while ((k = ls->read(ls, buf, sizeof(buf))) > 0)
			;
		assert_int_equal(k, tamper ? -EBADMSG : 0);
		ls->close(ls);
		pull_source_free(src);
		oci_layout_close(&store);
	}
	/* A docker-archive is not an OCI layout. */
	write_tar((struct entry[]){ { "manifest.json", manifest_json, 0, F_REG } }, 1);
	struct manifest_store store = {};
	char *object = NULL;
	assert_int_equal(oci_archive_open(path, &store, &object), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_archive),
		cmocka_unit_test(test_docker_archive_from_pipe),
		cmocka_unit_test(test_docker_archive_hostile),
		cmocka_unit_test(test_archive_bounds),
		cmocka_unit_test(test_oci_archive),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
