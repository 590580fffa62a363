/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the other text a registry or the local machine hands us, each
 * through its pure parser: the first byte picks which. WWW-Authenticate
 * headers, token responses, credential files (docker config.json,
 * containers auth.json), image references and platform strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "manifest.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	if (size < 1)
		return 0;
	const uint8_t *body = data + 1;
	size_t len = size - 1;
	char *text = malloc(len + 1);
	if (!text)
		return 0;
	memcpy(text, body, len);
	text[len] = '\0';

	switch (data[0] % 5) {
	case 0: {
		struct auth_challenge c;
		if (auth_challenge_parse(text, &c) == 0)
			auth_challenge_done(&c);
		break;
	}
	case 1: {
		char *token = NULL;
		long expires = 0;
		if (auth_token_parse(body, len, &token, &expires) == 0)
			free(token);
		break;
	}
	case 2: {
		struct credentials cred;
		if (auth_config_lookup(body, len, "127.0.0.1:5000", &cred) == 0)
			credentials_done(&cred);
		if (auth_config_lookup(body, len, "docker.io", &cred) == 0)
			credentials_done(&cred);
		(void) auth_config_uses_helper(body, len, "docker.io");
		break;
	}
	case 3: {
		struct image_reference ref;
		if (reference_parse(text, &ref) == 0) {
			(void) reference_object(&ref);
			reference_done(&ref);
		}
		break;
	}
	default: {
		struct platform p;
		if (platform_parse(text, &p) == 0) {
			free(platform_to_string(&p));
			platform_done(&p);
		}
		break;
	}
	}
	free(text);
	return 0;
}
