/* SPDX-License-Identifier: Apache-2.0 */
#include "build_record.h"

#include <archive.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqfs/compressor.h>

#include "sqfs_writer.h"
#include "util.h"

/* The version a library loaded in this process reports (the one libsquashfs
 * compresses with: one copy of each per process), or "unknown" (a static
 * build). Looked up by name: kairos-upgrade links none of them but zlib
 * and libzstd itself. */
static void copy_string(char *buf, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static void library_version(const char *function, char *buf, size_t size)
{
	void *sym = dlsym(RTLD_DEFAULT, function);
	const char *(*fn)(void) = NULL;
	memcpy(&fn, &sym, sizeof(fn));
	const char *v = fn ? fn() : NULL;
	copy_string(buf, size, v ?: "unknown");
}

/* libsquashfs has no version call: the file it was loaded from
 * ("libsquashfs.so.1.4.0" is libsquashfs 1.2.0) says which. */
static void squashfs_library(char *buf, size_t size)
{
	Dl_info info;
	char path[PATH_MAX];
	const char *name = "unknown";
	void *sym = (void *) sqfs_compressor_create;
	if (dladdr(sym, &info) != 0 && info.dli_fname && realpath(info.dli_fname, path)) {
		const char *slash = strrchr(path, '/');
		name = slash ? slash + 1 : path;
	}
	copy_string(buf, size, name);
}

int build_record_init(struct build_record *rec, const struct build_options *opts, const struct build_stats *stats)
{
	static const struct {
		const char *name, *lib, *version_function;
	} libs[] = {
		{ "zstd", "libzstd", "ZSTD_versionString" },
		{ "xz", "liblzma", "lzma_version_string" },
		{ "gzip", "zlib", "zlibVersion" },
		{ "lz4", "liblz4", "LZ4_versionString" },
	};
	struct build_options o;
	if (opts)
		o = *opts;
	else
		build_options_init(&o);
	if (o.block_size == 0)
		o.block_size = BUILD_BLOCK_SIZE_DEFAULT; /* as build_image_squashfs() does */
	*rec = (struct build_record){
		.format = BUILD_FORMAT,
		.block_size = o.block_size,
		.prescan = stats && stats->prescanned,
	};
	int r = sqfs_writer_compressor(&o, &rec->compressor, &rec->level);
	if (r < 0)
		return r;
	squashfs_library(rec->libsquashfs, sizeof(rec->libsquashfs));
	const char *la = archive_version_string();
	copy_string(rec->libarchive, sizeof(rec->libarchive), strncmp(la, "libarchive ", 11) == 0 ? la + 11 : la);
	for (size_t i = 0; i < ELEMENTSOF(libs); i++)
		if (streq(libs[i].name, rec->compressor)) {
			rec->compressor_lib = libs[i].lib;
			library_version(libs[i].version_function, rec->compressor_version,
					sizeof(rec->compressor_version));
		}
	return 0;
}

/* A library's own text inside the one-line record: printable, no blank. */
static const char *printable_word(const char *s, char *buf, size_t size)
{
	size_t n = strnlen(s, size - 1);
	for (size_t i = 0; i < n; i++)
		buf[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[n] = '\0';
	return n ? buf : "?";
}

void build_record_string(const struct build_record *rec, char buf[static BUILD_RECORD_STRING_MAX])
{
	char squashfs[64], archive[32], lib[32], version[32], block[24];
	if (rec->block_size % 1024 == 0)
		snprintf(block, sizeof(block), "%" PRIu32 "K", rec->block_size / 1024);
	else
		snprintf(block, sizeof(block), "%" PRIu32, rec->block_size);
	snprintf(buf, BUILD_RECORD_STRING_MAX, "%s:%u %s %s format=%u %s %s-%s libarchive-%s",
		 printable_word(rec->compressor ?: "?", lib, sizeof(lib)), rec->level, block,
		 rec->prescan ? "prescan" : "no-prescan", rec->format,
		 printable_word(rec->libsquashfs, squashfs, sizeof(squashfs)), rec->compressor_lib ?: "unknown",
		 printable_word(rec->compressor_version, version, sizeof(version)),
		 printable_word(rec->libarchive, archive, sizeof(archive)));
}
