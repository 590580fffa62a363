/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: an image archive as docker-archive:/oci-archive: meet it: the
 * tar index (names, links, duplicates), manifest.json and the config, then
 * every file the made-up manifest names, streamed and hashed. The input is
 * the archive, held in a memfd so no disk is touched. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "docker_archive.h"
#include "log.h"
#include "oci_layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int discard(void *userdata, const void *buf, size_t size)
{
	(void) userdata;
	(void) buf;
	(void) size;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	int fd = memfd_create("archive", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t) size)
		abort();
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct manifest_store store = {};
	char *object = NULL;
	if (docker_archive_open(path, &store, &object) == 0) {
		char *body = NULL, *type = NULL;
		size_t n;
		char digest[DIGEST_STRING_MAX];
		struct manifest m = {};
		if (store.fetch_manifest(store.ctx, NULL, 0, &body, &n, &type, digest) == 0 &&
		    manifest_parse(body, n, type, &m) == 0) {
			store.produce_blob(store.ctx, &m.config, discard, NULL);
			for (size_t i = 0; i < m.n_entries; i++)
				store.produce_blob(store.ctx, &m.entries[i], discard, NULL);
			manifest_done(&m);
		}
		free(body);
		free(type);
		docker_archive_close(&store);
	}
	if (oci_archive_open(path, &store, &object) == 0) {
		char *body = NULL, *type = NULL;
		size_t n;
		char digest[DIGEST_STRING_MAX];
		if (store.fetch_manifest(store.ctx, object, 0, &body, &n, &type, digest) == 0) {
			free(body);
			free(type);
		}
		oci_layout_close(&store);
	}
	free(object);
	close(fd);
	return 0;
}
