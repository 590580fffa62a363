/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: what a registry or a key file hands userspace/trust. The first
 * byte picks the parser: cosign's payload (and, when it parses, written
 * back and parsed again to the same values), strict base64 (what decodes
 * encodes back to the same text), a public or private key PEM, a payload
 * and signature against a fixed key, cosign's encrypted key file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cosign_key.h"
#include "log.h"
#include "simple_signing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENDjiQwt7h8Z55DGwgXaVktkB+KiK\n"
			      "YpXpLnqaGd8Bge3ayiOplXNIGecjssumBM3ufwui7UvXCl6Na/EMyYNyRg==\n"
			      "-----END PUBLIC KEY-----\n";

static void payload_round_trip(const uint8_t *data, size_t size)
{
	struct simple_signing parsed = {};
	if (simple_signing_parse(data, size, &parsed, NULL) < 0)
		return;
	char *again = NULL;
	size_t again_size = 0;
	/* The signed root hash too (issue 17): what parses writes back the same. */
	const struct simple_signing_annotation verity[] = {
		{ SIMPLE_SIGNING_VERITY_ROOT_HASH_KEY, parsed.verity_root_hash },
		{ SIMPLE_SIGNING_VERITY_BUILD_KEY, parsed.verity_build },
	};
	size_t n = parsed.verity_root_hash[0] ? 2 : 0;
	if (simple_signing_write(parsed.docker_reference, parsed.digest, verity, n, &again, &again_size) == 0) {
		struct simple_signing reparsed = {};
		if (simple_signing_parse(again, again_size, &reparsed, NULL) != 0 ||
		    strcmp(reparsed.docker_reference, parsed.docker_reference) != 0 ||
		    strcmp(reparsed.digest, parsed.digest) != 0 ||
		    strcmp(reparsed.verity_root_hash, parsed.verity_root_hash) != 0 ||
		    strcmp(reparsed.verity_build, parsed.verity_build) != 0)
			abort();
		simple_signing_done(&reparsed);
		free(again);
	}
	simple_signing_done(&parsed);
}

static void base64_round_trip(const uint8_t *data, size_t size)
{
	unsigned char *out = NULL;
	size_t out_size = 0;
	if (base64_decode_strict((const char *) data, size, 4096, &out, &out_size) < 0)
		return;
	char *text = NULL;
	if (base64_encode(out, out_size, &text) < 0 || strlen(text) != size || memcmp(text, data, size) != 0)
		abort();
	free(text);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	switch (mode % 6) {
	case 0:
		payload_round_trip(data, size);
		break;
	case 1:
		base64_round_trip(data, size);
		break;
	case 2: {
		struct trust_key *key = NULL;
		if (trust_key_from_pem(data, size, &key) == 0) {
			(void) trust_key_verify(key, data, size, data, size < 64 ? size : 64);
			trust_key_free(key);
		}
		struct trust_private_key *priv = NULL;
		if (trust_private_key_from_pem(data, size, &priv) == 0)
			trust_private_key_free(priv);
		break;
	}
	case 3: {
		/* payload NUL signature: as the layer blob and its annotation. */
		const uint8_t *nul = memchr(data, '\0', size);
		if (!nul)
			break;
		struct trust_key *key = NULL;
		if (trust_key_from_pem(key_pem, strlen(key_pem), &key) < 0)
			abort();
		char *sig = strndup((const char *) nul + 1, size - (size_t) (nul + 1 - data));
		const char *const digests[] = {
			"sha256:0000000000000000000000000000000000000000000000000000000000000000", NULL
		};
		if (sig && simple_signing_verify(data, (size_t) (nul - data), sig, key, digests, NULL) == 0)
			abort(); /* nobody here has the private key */
		free(sig);
		trust_key_free(key);
		break;
	}
	case 4: {
		/* A hostile key file can ask for N=2 (cheap), never for hours. */
		unsigned char *der = NULL;
		size_t der_size = 0;
		if (cosign_key_decrypt(data, size, "x", 1, &der, &der_size) == 0)
			free(der);
		break;
	}
	default:
		payload_round_trip(data, size);
	}
	return 0;
}
