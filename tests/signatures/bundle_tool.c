/* SPDX-License-Identifier: Apache-2.0 */
/* bundle-tool: oci/referrers.c and trust/bundle.c against a real registry,
 * for tests/signatures/bundle.sh; the calls pull's signature check makes.
 *   bundle-tool [--insecure] REF PUBFILE DIGEST...
 * Fetches the Sigstore bundles attached to each DIGEST in REF's repository
 * and verifies each against PUBFILE for those digests. Prints one line
 * "bundles N" then, per bundle, "REFERRER RESULT [DIGEST IDENTITY]";
 * exit 0 when one verified, 1 when none did, 2 when fetching failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "log.h"
#include "referrers.h"
#include "reference.h"
#include "registry.h"
#include "util.h"

static int load_public(const char *path, struct trust_key **ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "rb");
	if (!f)
		return log_error_errno(-errno, "Failed to read %s: %m", path);
	char buf[TRUST_KEY_PEM_MAX + 1];
	size_t n = fread(buf, 1, sizeof(buf), f);
	return trust_key_from_pem(buf, n, ret);
}

static const char *result_name(int r)
{
	switch (r) {
	case 0:
		return "verified";
	case -EKEYREJECTED:
		return "key-rejected";
	case -EXDEV:
		return "other-digest";
	case -E2BIG:
		return "too-big";
	case -EBADMSG:
		return "malformed";
	default:
		return "error";
	}
}

int main(int argc, char **argv)
{
	bool insecure = argc > 1 && streq(argv[1], "--insecure");
	if (insecure) {
		argv++;
		argc--;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: bundle-tool [--insecure] REF PUBFILE DIGEST...\n");
		return 2;
	}
	_cleanup_(trust_key_freep) struct trust_key *key = NULL;
	if (load_public(argv[2], &key) < 0)
		return 2;
	struct image_reference ref = {};
	if (reference_parse(argv[1], &ref) < 0) {
		log_error("Bad reference %s", argv[1]);
		return 2;
	}
	struct registry_options opts = { .insecure = insecure, .attempts = 1 };
	struct registry *reg = NULL;
	int r = registry_open(&ref, &opts, &reg);
	reference_done(&ref);
	if (r < 0)
		return 2;
	const char *const *digests = (const char *const *) argv + 3;
	struct referrer_bundles bundles = {};
	r = referrers_fetch_bundles(reg, digests, &bundles);
	registry_free(reg);
	if (r < 0) {
		printf("fetch-failed %s\n", strerror(-r));
		return 2;
	}
	printf("bundles %zu\n", bundles.n);
	bool any = false;
	for (size_t i = 0; i < bundles.n; i++) {
		struct bundle_result res = {};
		r = bundle_verify(bundles.items[i].data, bundles.items[i].size, key, digests, &res);
		printf("%s %s", bundles.items[i].referrer, result_name(r));
		if (r == 0)
			printf(" %s %s", res.digest, res.identity ?: "(no-identity)");
		printf("\n");
		any = any || r == 0;
		bundle_result_done(&res);
	}
	referrer_bundles_done(&bundles);
	return any ? 0 : 1;
}
