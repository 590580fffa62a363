/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: manifests and indexes as a registry (or an attacker in front
 * of one) serves them. The first byte picks the media type the server
 * claims; the rest is the body. Whatever parses, platform choice and
 * listing must work on it. */
#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		NULL,
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.oci.image.index.v1+json",
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.docker.distribution.manifest.v1+prettyjws",
		"text/html",
	};
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	if (size < 1)
		return 0;
	struct manifest m;
	if (manifest_parse(data + 1, size - 1, types[data[0] % (sizeof(types) / sizeof(types[0]))], &m) < 0)
		return 0;
	if (m.kind == MANIFEST_INDEX) {
		struct platform want;
		size_t i;
		if (platform_parse("linux/amd64", &want) == 0) {
			(void) manifest_choose_platform(&m, &want, &i);
			platform_done(&want);
		}
		free(manifest_list_platforms(&m));
	}
	manifest_done(&m);
	return 0;
}
