/* SPDX-License-Identifier: Apache-2.0 */
#include "sqfs_extract.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/dir_reader.h>
#include <sqfs/error.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/super.h>

#include "durable.h"
#include "log.h"
#include "util.h"

#define MAX_LINK_HOPS 40 /* as the kernel allows */
#define COPY_CHUNK (1U << 20)

struct reader {
	sqfs_file_t *file;
	sqfs_super_t super;
	sqfs_compressor_t *cmp;
	sqfs_dir_reader_t *dir;
	sqfs_data_reader_t *data;
};

static void reader_close(struct reader *rd)
{
	if (rd->data)
		sqfs_destroy(rd->data);
	if (rd->dir)
		sqfs_destroy(rd->dir);
	if (rd->cmp)
		sqfs_destroy(rd->cmp);
	if (rd->file)
		sqfs_destroy(rd->file);
}

static void inodep(sqfs_inode_generic_t **p)
{
	sqfs_free(*p);
}

static int reader_open(struct reader *rd, const char *image)
{
	sqfs_compressor_config_t cfg;
	rd->file = sqfs_open_file(image, SQFS_FILE_OPEN_READ_ONLY);
	if (!rd->file)
		return log_error_errno(-EBADMSG, "Cannot open the image %s", image);
	if (sqfs_super_read(&rd->super, rd->file) != 0 ||
	    sqfs_compressor_config_init(&cfg, rd->super.compression_id, rd->super.block_size,
					SQFS_COMP_FLAG_UNCOMPRESS) != 0 ||
	    sqfs_compressor_create(&cfg, &rd->cmp) != 0)
		return log_error_errno(-EBADMSG, "%s is not a squashfs image this program reads", image);
	rd->dir = sqfs_dir_reader_create(&rd->super, rd->cmp, rd->file, 0);
	rd->data = sqfs_data_reader_create(rd->file, rd->super.block_size, rd->cmp, 0);
	if (!rd->dir || !rd->data)
		return -ENOMEM;
	if (sqfs_data_reader_load_fragment_table(rd->data, &rd->super) != 0)
		return log_error_errno(-EBADMSG, "Cannot read the fragment table of %s", image);
	return 0;
}

static int refuse(const char **why, const char *what)
{
	*why = what;
	return -ENOENT;
}

/* Resolve path to an inode. The walk keeps the resolved directory as a
 * plain path (no ".", "..", or links), so libsquashfs only ever looks up
 * names; a link's target is spliced in front of the rest of the path. */
static int resolve(struct reader *rd, const char *path, sqfs_inode_generic_t **ret, const char **why)
{
	char cur[PATH_MAX] = "", rest[PATH_MAX];
	unsigned hops = 0;
	if (strlen(path) >= sizeof(rest))
		return -ENAMETOOLONG;
	strcpy(rest, path);

	_cleanup_(inodep) sqfs_inode_generic_t *n = NULL;
	if (sqfs_dir_reader_get_root_inode(rd->dir, &n) != 0)
		return -EBADMSG;
	for (char *p = rest; *p;) {
		size_t len = strcspn(p, "/");
		char name[NAME_MAX + 1];
		if (len == 0 || (len == 1 && p[0] == '.')) {
			p += len + strspn(p + len, "/");
			continue;
		}
		if (len > NAME_MAX)
			return refuse(why, "a name too long");
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		p += strspn(p, "/");

		char next[PATH_MAX];
		if (streq(name, "..")) {
			char *slash = strrchr(cur, '/');
			if (slash)
				*slash = '\0';
			strcpy(next, cur);
		} else if (snprintf(next, sizeof(next), "%s/%s", cur, name) >= (int) sizeof(next))
			return -ENAMETOOLONG;

		if (n->base.type != SQFS_INODE_DIR && n->base.type != SQFS_INODE_EXT_DIR)
			return refuse(why, "a path component is not a directory");
		sqfs_inode_generic_t *child = NULL;
		int r = sqfs_dir_reader_find_by_path(rd->dir, NULL, next[0] ? next : "/", &child);
		if (r == SQFS_ERROR_NO_ENTRY)
			return refuse(why, "missing");
		if (r != 0)
			return -EBADMSG;
		sqfs_free(n);
		n = child;
		if (n->base.type != SQFS_INODE_SLINK && n->base.type != SQFS_INODE_EXT_SLINK) {
			strcpy(cur, next);
			continue;
		}
		/* A link: its target, then what was left, resolved from the link's directory. */
		if (++hops > MAX_LINK_HOPS)
			return refuse(why, "too many symbolic links");
		size_t tlen = n->data.slink.target_size;
		char spliced[PATH_MAX];
		if (tlen == 0 || tlen + 1 + strlen(p) >= sizeof(spliced))
			return refuse(why, "a symbolic link that does not resolve");
		memcpy(spliced, n->extra, tlen);
		spliced[tlen] = '\0';
		if (memchr(spliced, '\0', tlen))
			return refuse(why, "a symbolic link that does not resolve");
		if (*p) {
			strcat(spliced, "/");
			strcat(spliced, p);
		}
		if (spliced[0] == '/')
			cur[0] = '\0';
		strcpy(rest, spliced);
		p = rest;
		/* Back to the directory the link is in (cur). */
		_cleanup_(inodep) sqfs_inode_generic_t *dir = NULL;
		if (sqfs_dir_reader_find_by_path(rd->dir, NULL, cur[0] ? cur : "/", &dir) != 0)
			return -EBADMSG;
		sqfs_free(n);
		n = TAKE_PTR(dir);
	}
	*ret = TAKE_PTR(n);
	return 0;
}

static int copy_out(struct reader *rd, const sqfs_inode_generic_t *n, uint64_t size, const char *out)
{
	_cleanup_free_ char *dircopy = strdup(out), *basecopy = strdup(out), *tmp = NULL;
	if (!dircopy || !basecopy || asprintf(&tmp, "%s/.tmp-%s.XXXXXX", dirname(dircopy), basename(basecopy)) < 0)
		return -ENOMEM;
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(negative_errno(), "Cannot create %s: %m", tmp);
	fault_point("write");
	int r = fchmod(fd, 0644) < 0 ? negative_errno() : 0;
	_cleanup_free_ char *buf = malloc(COPY_CHUNK);
	if (!buf)
		r = -ENOMEM;
	for (uint64_t off = 0; r == 0 && off < size;) {
		uint32_t want = (uint32_t) (size - off < COPY_CHUNK ? size - off : COPY_CHUNK);
		sqfs_s32 got = sqfs_data_reader_read(rd->data, n, off, buf, want);
		if (got <= 0) {
			r = log_error_errno(-EBADMSG, "Cannot read the image's data at byte %" PRIu64 " of %s", off,
					    out);
			break;
		}
		r = write_all(fd, buf, (size_t) got);
		if (r < 0)
			log_error_errno(r, "Cannot write %s: %m", tmp);
		off += (uint64_t) got;
	}
	if (r == 0) {
		fault_point("fsync");
		if (fsync(fd) < 0)
			r = log_error_errno(negative_errno(), "Cannot fsync %s: %m", tmp);
	}
	if (r == 0 && close(TAKE_FD(fd)) < 0)
		r = log_error_errno(negative_errno(), "Cannot close %s: %m", tmp);
	if (r == 0 && (r = rename_durable(tmp, out)) < 0)
		log_error_errno(r, "Cannot rename %s to %s: %m", tmp, out);
	if (r < 0)
		(void) unlink(tmp);
	return r;
}

int sqfs_extract_file(const char *image, const char *path, const char *out, uint64_t max_bytes)
{
	struct reader rd = { 0 };
	_cleanup_(inodep) sqfs_inode_generic_t *n = NULL;
	const char *why = "unreadable";
	int r = reader_open(&rd, image);
	if (r == 0)
		r = resolve(&rd, path, &n, &why);
	sqfs_u64 size = 0;
	if (r == 0 && n->base.type != SQFS_INODE_FILE && n->base.type != SQFS_INODE_EXT_FILE)
		r = refuse(&why, "not a file");
	if (r == 0 && (sqfs_inode_get_file_size(n, &size) != 0 || size == 0))
		r = refuse(&why, "empty");
	if (r == 0 && size > max_bytes)
		r = refuse(&why, "too large");
	if (r == -ENOENT || r == -ENAMETOOLONG)
		r = log_error_errno(-ENOEXEC, "The image %s has no %s (%s, at most %" PRIu64 " MiB): it cannot boot",
				    image, path, why, max_bytes >> 20);
	else if (r == -EBADMSG)
		log_error("Cannot read %s from the image %s", path, image);
	if (r == 0)
		r = copy_out(&rd, n, size, out);
	reader_close(&rd);
	return r;
}
