/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: an image config as a registry serves it, through what the
 * anti-downgrade rule takes from it (oci/image_config.c). Whatever comes
 * out must be what the validators accept (bounded printable ASCII, a valid
 * time), and the rule must decide on any two of them, antisymmetrically. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "downgrade.h"
#include "image_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *) data, size, 0, NULL);
	char *created = NULL, *version = NULL;
	if (image_config_age(root, &created, &version) < 0)
		abort();
	json_decref(root);
	if ((created && !image_created_is_valid(created)) || (version && !image_version_is_valid(version)))
		abort();
	/* against a fixed image, both ways: older one way is newer the other */
	const struct image_age a = { .created = created, .version = version },
			       b = { .created = "2024-03-01T00:00:00Z", .version = "1.2.0" };
	char why[256];
	enum downgrade_verdict ab = downgrade_decide(&b, &a, why, sizeof(why)),
			       ba = downgrade_decide(&a, &b, why, sizeof(why));
	if ((ab == DOWNGRADE_OLDER) != (ba == DOWNGRADE_NEWER))
		abort();
	free(created);
	free(version);
	return 0;
}
