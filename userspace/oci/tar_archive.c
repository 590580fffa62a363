/* SPDX-License-Identifier: Apache-2.0 */
#include "tar_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "membuf.h"
#include "sanitize.h"
#include "util.h"

#define READ_CHUNK (256 * 1024)
#define NAME_MAX_BYTES 4096
/* All names together, and what one entry's headers (pax records, GNU long
 * names) may make libarchive read and hold. */
#define NAMES_MAX_BYTES (16u * 1024 * 1024)
#define HEADER_MAX_BYTES (16u * 1024 * 1024)

struct tar_file {
	char *name;
	uint64_t size;
	size_t ordinal; /* position among all entries */
	bool link;      /* never read: a link is not followed */
};

struct tar_archive {
	int fd;
	off_t size;
	char *name;
	struct tar_file *files;
	size_t n_files;
};

/* Each reader has its own offset over the shared fd, so several files of
 * one archive may be streamed at once. */
struct tar_reader {
	struct archive *a;
	int fd;
	off_t pos;
	off_t end;
	bool in_header;        /* reading one entry's headers */
	uint64_t header_bytes; /* read since they began */
	char buf[64 * 1024];
};

static la_ssize_t reader_read(struct archive *a, void *userdata, const void **buf)
{
	struct tar_reader *r = userdata;
	for (;;) {
		if (r->in_header && r->header_bytes > HEADER_MAX_BYTES) {
			archive_set_error(a, EFBIG, "an entry's headers are larger than %u bytes", HEADER_MAX_BYTES);
			return -1;
		}
		ssize_t n = pread(r->fd, r->buf, sizeof(r->buf), r->pos);
		if (n >= 0) {
			r->header_bytes += (uint64_t) n;
			r->pos += n;
			*buf = r->buf;
			return n;
		}
		if (errno != EINTR) {
			archive_set_error(a, errno, "read failed");
			return -1;
		}
	}
}

static la_int64_t reader_skip(struct archive *a, void *userdata, la_int64_t request)
{
	(void) a;
	struct tar_reader *r = userdata;
	if (request < 0)
		return 0;
	if (request > r->end - r->pos)
		request = r->end - r->pos;
	r->pos += request;
	return request;
}

static void tar_reader_free(struct tar_reader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	free(r);
}
static inline void tar_reader_freep(struct tar_reader **r)
{
	tar_reader_free(*r);
}

static int tar_reader_new(const struct tar_archive *t, struct tar_reader **ret)
{
	struct tar_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = t->fd;
	r->end = t->size;
	r->a = archive_read_new();
	if (!r->a) {
		free(r);
		return -ENOMEM;
	}
	/* Image archives are plain POSIX/GNU tars, as layers are. */
	archive_read_support_format_tar(r->a);
	archive_read_support_format_gnutar(r->a);
	if (archive_read_open2(r->a, r, NULL, reader_read, reader_skip, NULL) != ARCHIVE_OK) {
		log_error("%s is not a tar archive: %s", t->name, archive_error_string(r->a));
		tar_reader_free(r);
		return -EBADMSG;
	}
	*ret = r;
	return 0;
}

/* Names come from the archive: their printable form (lib/sanitize.h),
 * cut to fit a message. */
static const char *printable(const char *s, char buf[static 256])
{
	sanitize_to(buf, 256, s ?: "");
	return buf;
}

/* The name without "./" prefixes and trailing slashes, or NULL when it is
 * absolute, empty or has a ".." component: nothing in an image archive
 * needs one, and a consumer that extracts would be led outside. */
static char *normalize_name(const char *name)
{
	if (!name || name[0] == '/' || strlen(name) >= NAME_MAX_BYTES)
		return NULL;
	while (name[0] == '.' && name[1] == '/')
		name += 2 + strspn(name + 2, "/");
	char *n = strdup(name);
	if (!n)
		return NULL;
	size_t len = strlen(n);
	while (len > 0 && n[len - 1] == '/')
		n[--len] = '\0';
	bool bad = len == 0;
	for (const char *c = n; !bad && c;) {
		size_t l = strcspn(c, "/");
		bad = l == 2 && c[0] == '.' && c[1] == '.';
		c = c[l] ? c + l + 1 : NULL;
	}
	if (bad) {
		free(n);
		return NULL;
	}
	return n;
}

static int check_entry(struct tar_archive *t, struct archive_entry *e, char **ret_name)
{
	char b[256];
	const char *raw = archive_entry_pathname(e);
	_cleanup_free_ char *name = normalize_name(raw);
	const char *bad = NULL;
	mode_t type = archive_entry_filetype(e);
	if (!name)
		bad = "has an absolute, empty or '..' path";
	/* skopeo and buildah add "ID/layer.tar" links for old readers: kept
	 * in the index so that naming one is refused, never followed. */
	else if (archive_entry_hardlink(e) || type == AE_IFLNK) {
		*ret_name = TAKE_PTR(name);
		return 2;
	} else if (type != AE_IFREG && type != AE_IFDIR)
		bad = "is not a regular file or directory";
	else if (type == AE_IFREG && (archive_entry_sparse_count(e) > 0 || archive_entry_size(e) < 0))
		bad = "is sparse or has no size";
	if (bad) {
		log_error("%s: entry '%s' %s; refusing the archive", t->name, printable(name ?: raw, b), bad);
		return -EBADMSG;
	}
	*ret_name = TAKE_PTR(name);
	return type == AE_IFREG;
}

static int compare_files(const void *a, const void *b)
{
	return strcmp(((const struct tar_file *) a)->name, ((const struct tar_file *) b)->name);
}

static int scan(struct tar_archive *t)
{
	_cleanup_(tar_reader_freep) struct tar_reader *r = NULL;
	int k = tar_reader_new(t, &r);
	if (k < 0)
		return k;
	uint64_t name_bytes = 0;
	for (size_t ordinal = 0;; ordinal++) {
		struct archive_entry *e;
		r->in_header = true;
		r->header_bytes = 0;
		int ar = archive_read_next_header(r->a, &e);
		r->in_header = false;
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
			return log_error_errno(-EBADMSG, "%s is not a valid tar archive: %s", t->name,
					       archive_error_string(r->a));
		if (ordinal >= TAR_ARCHIVE_ENTRIES_MAX)
			return log_error_errno(-E2BIG, "%s has more than %u entries; refusing the archive", t->name,
					       TAR_ARCHIVE_ENTRIES_MAX);
		_cleanup_free_ char *name = NULL;
		k = check_entry(t, e, &name);
		if (k <= 0) {
			if (k < 0)
				return k;
			continue;
		}
		name_bytes += strlen(name) + 1;
		if (name_bytes > NAMES_MAX_BYTES)
			return log_error_errno(-E2BIG, "%s: its names take more than %u bytes; refusing the archive",
					       t->name, NAMES_MAX_BYTES);
		if (t->n_files % 64 == 0) {
			struct tar_file *f = reallocarray(t->files, t->n_files + 64, sizeof(*f));
			if (!f)
				return -ENOMEM;
			t->files = f;
		}
		t->files[t->n_files++] =
			(struct tar_file){ TAKE_PTR(name), k == 1 ? (uint64_t) archive_entry_size(e) : 0, ordinal,
					   k == 2 };
	}
	/* Sorted by name: lookups are a binary search and a name twice (which
	 * of the two would be meant?) sits next to itself. */
	if (t->n_files > 0) /* an empty archive has no array: qsort wants one */
		qsort(t->files, t->n_files, sizeof(*t->files), compare_files);
	for (size_t i = 1; i < t->n_files; i++)
		if (streq(t->files[i - 1].name, t->files[i].name)) {
			char b[256];
			return log_error_errno(-EBADMSG, "%s: '%s' appears twice; refusing the ambiguous archive",
					       t->name, printable(t->files[i].name, b));
		}
	return 0;
}

/* Standard input or a pipe cannot be read twice: keep it in an unlinked
 * file, no more than max bytes of it. */
static int spool(int in, const char *what, uint64_t max, int *ret_fd)
{
	const char *dir = getenv("TMPDIR") ?: "/var/tmp";
	_cleanup_close_ int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_error_errno(-errno, "Cannot make a temporary file in %s to hold %s: %m", dir, what);
	_cleanup_free_ char *buf = malloc(READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(in, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return log_error_errno(-errno, "Cannot read %s: %m", what);
		if (n == 0)
			break;
		total += (uint64_t) n;
		if (total > max)
			return log_error_errno(-EFBIG, "%s is larger than %llu bytes; refusing it", what,
					       (unsigned long long) max);
		int r = write_all(fd, buf, (size_t) n);
		if (r < 0)
			return log_error_errno(r, "Cannot keep %s in %s: %m", what, dir);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int tar_archive_open_budget(const char *path, const char *what, uint64_t spool_max, struct tar_archive **ret)
{
	_cleanup_(tar_archive_freep) struct tar_archive *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = -1;
	bool stdin_ = streq(path, "-");
	if (asprintf(&t->name, "%s %s", what, stdin_ ? "(standard input)" : path) < 0) {
		t->name = NULL;
		return -ENOMEM;
	}
	_cleanup_close_ int fd = stdin_ ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return log_error_errno(negative_errno(), "Cannot open %s: %m", t->name);
	if (S_ISDIR(st.st_mode))
		return log_error_errno(-EISDIR, "%s is a directory, not a tar archive (for a layout use oci-layout:)",
				       t->name);
	if (S_ISREG(st.st_mode))
		t->fd = TAKE_FD(fd);
	else {
		int r = spool(fd, t->name, spool_max, &t->fd);
		if (r < 0)
			return r;
	}
	if (fstat(t->fd, &st) < 0)
		return log_error_errno(negative_errno(), "Cannot read %s: %m", t->name);
	t->size = st.st_size;
	uint8_t magic[4] = {};
	if (pread(t->fd, magic, sizeof(magic), 0) >= 4 &&
	    ((magic[0] == 0x1f && magic[1] == 0x8b) || (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f)))
		return log_error_errno(-EPROTONOSUPPORT,
				       "%s is compressed; decompress it first (an image archive is "
				       "a plain tar)",
				       t->name);
	int r = scan(t);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(t);
	return 0;
}

int tar_archive_open(const char *path, const char *what, struct tar_archive **ret)
{
	return tar_archive_open_budget(path, what, TAR_ARCHIVE_SPOOL_MAX, ret);
}

struct tar_archive *tar_archive_free(struct tar_archive *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n_files; i++)
		free(t->files[i].name);
	free(t->files);
	free(t->name);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	return NULL;
}

const char *tar_archive_name(const struct tar_archive *t)
{
	return t->name;
}

static const struct tar_file *find(const struct tar_archive *t, const char *path)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	const struct tar_file key = { .name = (char *) path };
	return t->n_files ? bsearch(&key, t->files, t->n_files, sizeof(*t->files), compare_files) : NULL;
}

int tar_archive_find(const struct tar_archive *t, const char *path, uint64_t *ret_size)
{
	const struct tar_file *f = find(t, path);
	if (!f)
		return -ENOENT;
	if (f->link)
		return -ELOOP;
	*ret_size = f->size;
	return 0;
}

int tar_archive_produce(struct tar_archive *t, const char *path, uint64_t size, blob_sink_t sink, void *sink_ctx)
{
	char b[256];
	const struct tar_file *f = find(t, path);
	if (!f)
		return log_error_errno(-ENOENT, "%s has no file '%s'", t->name, printable(path, b));
	if (f->link)
		return log_error_errno(-ELOOP, "'%s' in %s is a link, which is never followed: refusing the archive",
				       printable(path, b), t->name);
	if (f->size != size)
		return log_error_errno(-EBADMSG, "Size mismatch for '%s' in %s: %llu bytes, expected %llu",
				       printable(path, b), t->name, (unsigned long long) f->size,
				       (unsigned long long) size);
	_cleanup_(tar_reader_freep) struct tar_reader *r = NULL;
	int k = tar_reader_new(t, &r);
	if (k < 0)
		return k;
	struct archive_entry *e = NULL;
	r->in_header = true;
	for (size_t i = 0; i <= f->ordinal; i++, r->header_bytes = 0)
		if (archive_read_next_header(r->a, &e) < ARCHIVE_WARN)
			return log_error_errno(-EBADMSG, "%s changed while being read: %s", t->name,
					       archive_error_string(r->a));
	r->in_header = false;
	_cleanup_free_ char *name = normalize_name(archive_entry_pathname(e));
	if (!streq_ptr(name, f->name) || (uint64_t) archive_entry_size(e) != f->size)
		return log_error_errno(-EBADMSG, "%s changed while being read", t->name);
	_cleanup_free_ char *buf = malloc(READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	uint64_t done = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(r->a, buf, READ_CHUNK);
		if (n < 0)
			return log_error_errno(-EBADMSG, "Cannot read '%s' in %s: %s", printable(path, b), t->name,
					       archive_error_string(r->a));
		if (n == 0)
			break;
		done += (uint64_t) n;
		k = sink(sink_ctx, buf, (size_t) n);
		if (k < 0)
			return k;
	}
	if (done != size)
		return log_error_errno(-EBADMSG, "'%s' in %s is truncated: %llu of %llu bytes", printable(path, b),
				       t->name, (unsigned long long) done, (unsigned long long) size);
	return 0;
}

int tar_archive_read_small(struct tar_archive *t, const char *path, size_t max, char **ret, size_t *ret_size)
{
	char b[256];
	uint64_t size;
	int r = tar_archive_find(t, path, &size);
	if (r == -ELOOP)
		return log_error_errno(r, "'%s' in %s is a link, which is never followed: refusing the archive",
				       printable(path, b), t->name);
	if (r < 0)
		return log_error_errno(r, "%s has no %s", t->name, printable(path, b));
	if (size > max)
		return log_error_errno(-EFBIG, "%s in %s is %llu bytes, more than the %zu accepted", printable(path, b),
				       t->name, (unsigned long long) size, max);
	struct membuf m = MEMBUF_INIT((size_t) size);
	r = tar_archive_produce(t, path, size, membuf_sink, &m);
	if (r < 0) {
		membuf_done(&m);
		return r;
	}
	*ret = membuf_steal(&m, ret_size);
	return *ret ? 0 : -ENOMEM;
}
