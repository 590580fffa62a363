/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: cosign 3's signatures as a registry hands them over. The first
 * byte picks the parser: a Sigstore bundle (bundle_parse; what parses has
 * a payload within its bound and exactly one signature), a bundle against
 * a fixed key (never accepted: nobody here has its private key), an
 * in-toto statement (bundle_statement_check: a match is one of the
 * expected digests), a referrers index, a referrer manifest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "log.h"
#include "referrers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENDjiQwt7h8Z55DGwgXaVktkB+KiK\n"
			      "YpXpLnqaGd8Bge3ayiOplXNIGecjssumBM3ufwui7UvXCl6Na/EMyYNyRg==\n"
			      "-----END PUBLIC KEY-----\n";

static const char *const digests[] = { "sha256:0000000000000000000000000000000000000000000000000000000000000000",
				       "sha256:667a4f87f6f9def7d961d15ed167160d9a1c984098250a07ac422db7130dc6df",
				       NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	switch (mode % 5) {
	case 0: {
		struct bundle b = {};
		if (bundle_parse(data, size, &b, NULL) == 0) {
			if (b.payload_size > BUNDLE_STATEMENT_MAX || b.signature_size == 0 ||
			    b.signature_size > TRUST_SIGNATURE_MAX || strcmp(b.payload_type, BUNDLE_PAYLOAD_TYPE) != 0)
				abort();
			unsigned char *pae = NULL;
			size_t pae_size = 0;
			if (dsse_pae(b.payload_type, b.payload, b.payload_size, &pae, &pae_size) == 0) {
				if (pae_size < b.payload_size || memcmp(pae, "DSSEv1 ", 7) != 0)
					abort();
				free(pae);
			}
			bundle_done(&b);
		}
		break;
	}
	case 1: {
		struct trust_key *key = NULL;
		if (trust_key_from_pem(key_pem, strlen(key_pem), &key) < 0)
			abort();
		if (bundle_verify(data, size, key, digests, NULL) == 0)
			abort();
		trust_key_free(key);
		break;
	}
	case 2: {
		struct bundle_result r = {};
		if (bundle_statement_check(data, size, digests, &r, NULL) == 0) {
			if (strcmp(r.digest, digests[0]) != 0 && strcmp(r.digest, digests[1]) != 0)
				abort();
		}
		bundle_result_done(&r);
		break;
	}
	case 3: {
		char(*list)[DIGEST_STRING_MAX] = NULL;
		size_t n = 0;
		if (referrers_parse_index(data, size, &list, &n, NULL) == 0) {
			if (n > REFERRERS_BUNDLES_MAX)
				abort();
			for (size_t i = 0; i < n; i++)
				if (!digest_is_valid(list[i]))
					abort();
			free(list);
		}
		break;
	}
	default: {
		char digest[DIGEST_STRING_MAX];
		uint64_t layer_size = 0;
		if (referrers_parse_manifest(data, size, digest, &layer_size, NULL) == 0 &&
		    (!digest_is_valid(digest) || layer_size == 0 || layer_size > BUNDLE_SIZE_MAX))
			abort();
	}
	}
	return 0;
}
