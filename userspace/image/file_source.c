/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_source.h"
#include "log.h"
#include "util.h"

#define MEDIA_TAR "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_TAR_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIA_TAR_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

struct file_source {
	struct image_source base;
	char **paths;
	size_t n_paths;
};

struct file_stream {
	struct layer_stream base;
	int fd;
};

static ssize_t file_stream_read(struct layer_stream *ls, void *buf, size_t size)
{
	struct file_stream *s = (struct file_stream *) ls;
	for (;;) {
		ssize_t n = read(s->fd, buf, size);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return log_error_errno(negative_errno(), "Cannot read %s: %m", ls->digest);
	}
}

static void file_stream_close(struct layer_stream *ls)
{
	struct file_stream *s = (struct file_stream *) ls;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static const char *guess_media_type(int fd)
{
	uint8_t magic[4] = {};
	ssize_t n = pread(fd, magic, sizeof(magic), 0);
	if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		return MEDIA_TAR_GZIP;
	if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
		return MEDIA_TAR_ZSTD;
	return MEDIA_TAR;
}

static int file_source_open_layer(struct image_source *src, size_t index, struct layer_stream **out)
{
	struct file_source *fs = (struct file_source *) src;
	struct stat st;
	if (index >= fs->n_paths)
		return -EINVAL;
	_cleanup_close_ int fd = open(fs->paths[index], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return log_error_errno(negative_errno(), "Cannot open layer %s: %m", fs->paths[index]);
	struct file_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base = (struct layer_stream){
		.digest = fs->paths[index],
		.media_type = guess_media_type(fd),
		.size = (uint64_t) st.st_size,
		.read = file_stream_read,
		.close = file_stream_close,
	};
	s->fd = TAKE_FD(fd);
	*out = &s->base;
	return 0;
}

static const char *file_source_layer_digest(struct image_source *src, size_t index)
{
	struct file_source *fs = (struct file_source *) src;
	return index < fs->n_paths ? fs->paths[index] : NULL;
}

static uint64_t file_source_layer_size(struct image_source *src, size_t index)
{
	struct file_source *fs = (struct file_source *) src;
	struct stat st;
	if (index >= fs->n_paths || stat(fs->paths[index], &st) < 0)
		return UINT64_MAX;
	return (uint64_t) st.st_size;
}

int file_source_new(char *const *paths, size_t n_paths, struct image_source **ret)
{
	struct file_source *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->paths = calloc(n_paths + 1, sizeof(char *));
	if (!fs->paths) {
		free(fs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_paths; i++) {
		fs->paths[i] = strdup(paths[i]);
		fs->n_paths = i + 1;
		if (!fs->paths[i]) {
			file_source_free(&fs->base);
			return -ENOMEM;
		}
	}
	fs->base = (struct image_source){
		.n_layers = n_paths,
		.open_layer = file_source_open_layer,
		.layer_digest = file_source_layer_digest,
		.layer_size = file_source_layer_size,
	};
	*ret = &fs->base;
	return 0;
}

void file_source_free(struct image_source *src)
{
	struct file_source *fs = (struct file_source *) src;
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n_paths; i++)
		free(fs->paths[i]);
	free(fs->paths);
	free(fs);
}
