/* SPDX-License-Identifier: Apache-2.0 */
#include "kept_data.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "util.h"

#define PIECE_MAX (1024 * 1024)
#define END_MARK UINT64_MAX

/* On disk, per file: pieces as {offset, length} headers and their bytes,
 * then {END_MARK, 0}. */
struct piece_header {
	uint64_t offset, length;
};

struct kept_file {
	const struct fs_inode *inode;
	uint64_t at; /* where its first header is */
	unsigned char sha[32];
};

struct kept_data {
	int fd;
	char *dir;
	uint64_t end, budget;
	bool full;
	struct kept_file *files;
	size_t n, n_alloc, cursor;
	/* reading back */
	EVP_MD_CTX *md;
	const struct kept_file *reading;
	uint64_t pos, piece_end;
	char *buf;
};

int kept_data_new(const char *dir, uint64_t reserve, struct kept_data **ret)
{
	struct kept_data *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (k->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		_cleanup_free_ char *path = NULL;
		if (asprintf(&path, "%s/.tmp-kept.XXXXXX", dir) >= 0 && (k->fd = mkostemp(path, O_CLOEXEC)) >= 0)
			(void) unlink(path);
	}
	k->dir = strdup(dir);
	k->buf = malloc(PIECE_MAX);
	k->md = EVP_MD_CTX_new();
	if (k->fd < 0 || !k->dir || !k->buf || !k->md) {
		int r = k->fd < 0 ? log_error_errno(negative_errno(), "Cannot create a temporary file in %s: %m", dir)
				  : -ENOMEM;
		kept_data_free(k);
		return r;
	}
	struct statvfs st;
	uint64_t free_bytes = fstatvfs(k->fd, &st) == 0 ? (uint64_t) st.f_bavail * st.f_frsize : 0;
	uint64_t spare = free_bytes > reserve ? (free_bytes - reserve) / 2 : 0;
	k->budget = spare < KEPT_DATA_MAX ? spare : KEPT_DATA_MAX;
	*ret = k;
	return 0;
}

void kept_data_free(struct kept_data *k)
{
	if (!k)
		return;
	if (k->fd >= 0)
		close(k->fd);
	EVP_MD_CTX_free(k->md);
	free(k->buf);
	free(k->files);
	free(k->dir);
	free(k);
}

/* Appends size bytes at k->end, charged to the budget: -ENOSPC when over
 * it or the disk is full. */
static int append(struct kept_data *k, const void *data, size_t size)
{
	if (size > k->budget - k->end)
		return -ENOSPC;
	int r = pwrite_all(k->fd, data, size, k->end);
	if (r < 0)
		return r;
	k->end += size;
	return 0;
}

static int hashed_append(struct kept_data *k, const void *data, size_t size)
{
	int r = append(k, data, size);
	if (r >= 0 && EVP_DigestUpdate(k->md, data, size) != 1)
		r = -EIO;
	return r;
}

int kept_data_save(struct kept_data *k, data_piece_fn *read, void *ctx, struct fs_inode *inode)
{
	if (k->full)
		return 0;
	if (k->n == k->n_alloc) {
		size_t na = k->n_alloc ? k->n_alloc * 2 : 64;
		struct kept_file *p = reallocarray(k->files, na, sizeof(*p));
		if (!p)
			return -ENOMEM;
		k->files = p;
		k->n_alloc = na;
	}
	struct kept_file *f = &k->files[k->n];
	*f = (struct kept_file){ .inode = inode, .at = k->end };
	if (EVP_DigestInit_ex(k->md, EVP_sha256(), NULL) != 1)
		return -EIO;
	int r;
	for (;;) {
		const void *buf;
		size_t size;
		int64_t offset;
		r = read(ctx, &buf, &size, &offset);
		if (r <= 0)
			break;
		/* in pieces the reading back can bound */
		for (size_t done = 0; r >= 0 && done < size;) {
			size_t n = size - done < PIECE_MAX ? size - done : PIECE_MAX;
			struct piece_header h = { (uint64_t) offset + done, n };
			r = hashed_append(k, &h, sizeof(h));
			if (r >= 0)
				r = hashed_append(k, (const char *) buf + done, n);
			done += n;
		}
		if (r < 0)
			break;
	}
	if (r == 0)
		r = hashed_append(k, &(struct piece_header){ END_MARK, 0 }, sizeof(struct piece_header));
	unsigned len = 0;
	if (r == 0 && (EVP_DigestFinal_ex(k->md, f->sha, &len) != 1 || len != sizeof(f->sha)))
		r = -EIO;
	if (r == -ENOSPC || r == -EDQUOT) {
		/* Out of budget: this file and the rest are not kept (the rest
		 * of the entry is skipped by the reader). */
		log_debug("Keeping the data of hidden files in %s stopped at %llu bytes", k->dir,
			  (unsigned long long) f->at);
		k->full = true;
		k->end = f->at;
		return 0;
	}
	if (r < 0)
		return r;
	k->n++;
	return 0;
}

bool kept_data_has_all(struct kept_data *k, struct fs_inode *const *inodes, size_t n)
{
	size_t c = k->cursor;
	for (size_t i = 0; i < n; i++) {
		while (c < k->n && k->files[c].inode != inodes[i])
			c++;
		if (c == k->n)
			return false;
	}
	return true;
}

int kept_data_open(struct kept_data *k, const struct fs_inode *inode)
{
	while (k->cursor < k->n && k->files[k->cursor].inode != inode)
		k->cursor++;
	if (k->cursor == k->n)
		return -ENOENT;
	k->reading = &k->files[k->cursor];
	k->pos = k->reading->at;
	k->piece_end = 0;
	return EVP_DigestInit_ex(k->md, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

static int read_hashed(struct kept_data *k, void *buf, size_t size)
{
	ssize_t n = pread_full(k->fd, buf, size, k->pos);
	if (n < 0)
		return log_error_errno((int) n, "Cannot read the kept data in %s: %m", k->dir);
	if ((size_t) n < size)
		return log_error_errno(-EBADMSG, "The kept data in %s is short", k->dir);
	k->pos += size;
	return EVP_DigestUpdate(k->md, buf, size) == 1 ? 0 : -EIO;
}

int kept_data_read_piece(void *userdata, const void **buf, size_t *size, int64_t *offset)
{
	struct kept_data *k = userdata;
	const struct fs_inode *inode = k->reading->inode;
	struct piece_header h;
	int r = read_hashed(k, &h, sizeof(h));
	if (r < 0)
		return r;
	if (h.offset == END_MARK && h.length == 0) {
		unsigned char sha[32];
		unsigned len = 0;
		if (EVP_DigestFinal_ex(k->md, sha, &len) != 1 || len != sizeof(sha))
			return -EIO;
		if (memcmp(sha, k->reading->sha, sizeof(sha)) != 0)
			return log_error_errno(-EBADMSG, "The data kept in %s changed on the disk before it was used",
					       k->dir);
		return 0;
	}
	/* bounded before the hash can speak: the disk is not trusted */
	if (h.length == 0 || h.length > PIECE_MAX || h.offset < k->piece_end || h.offset > inode->size ||
	    h.length > inode->size - h.offset)
		return log_error_errno(-EBADMSG, "The data kept in %s changed on the disk before it was used", k->dir);
	r = read_hashed(k, k->buf, h.length);
	if (r < 0)
		return r;
	k->piece_end = h.offset + h.length;
	*buf = k->buf;
	*size = h.length;
	*offset = (int64_t) h.offset;
	return 1;
}
