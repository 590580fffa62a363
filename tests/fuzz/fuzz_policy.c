/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the signature policy (containers-policy.json) as an image or
 * an operator's file carries it, the signedIdentity matching that
 * compares a signature's claimed reference with the image, and the
 * anti-downgrade facts. The first byte picks which; for the last two the
 * rest is split at newlines into strings. Besides no crash or leak, what
 * parses must be consistent: a normalized reference parses back to
 * itself, matchExact accepting implies matchRepoDigestOrExact and
 * matchRepository accepting, versions compare antisymmetrically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "downgrade.h"
#include "identity.h"
#include "log.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STRINGS_MAX 4

/* Up to STRINGS_MAX NUL-terminated strings from the newline-split input
 * (missing ones are NULL). */
static char *split(const uint8_t *data, size_t size, char *out[STRINGS_MAX])
{
	char *copy = malloc(size + 1);
	if (!copy)
		return NULL;
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *p = copy;
	for (size_t i = 0; i < STRINGS_MAX; i++) {
		out[i] = p;
		if (p) {
			char *nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			p = nl ? nl + 1 : NULL;
		}
	}
	return copy;
}

static void fuzz_policy(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct policy_error e;
	if (policy_parse(data, size, "fuzz.json", &p, &e) < 0)
		return;
	static const char *const images[] = { "quay.io/a/b:1", "busybox:latest",
					      "localhost:5000/x/y@sha256:"
					      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
					      "a.b.example.com:5000/ns/repo:tag" };
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		struct identity_ref image;
		if (identity_ref_parse(images[i], &image) < 0)
			abort();
		const struct policy_requirements *reqs = policy_lookup_docker(p, &image);
		bool need;
		const char *why;
		(void) policy_requirements_check(reqs, &need, &why);
		for (size_t k = 0; k < reqs->n_items; k++)
			(void) identity_matches(&reqs->items[k].signed_identity, &image, images[i]);
	}
	policy_free(p);
}

static void fuzz_identity(const uint8_t *data, size_t size)
{
	char *s[STRINGS_MAX];
	char *copy = split(data, size, s);
	if (!copy)
		return;
	struct identity_ref image, again;
	bool have_image = identity_ref_parse(s[0], &image) >= 0;
	if (have_image) {
		char a[IDENTITY_REF_STRING_MAX], b[IDENTITY_REF_STRING_MAX];
		identity_ref_format(&image, a, sizeof(a));
		if (identity_ref_parse_canonical(a, &again) < 0)
			abort();
		identity_ref_format(&again, b, sizeof(b));
		if (strcmp(a, b) != 0)
			abort();
	}
	(void) identity_scope_is_valid(s[0]);
	(void) identity_prefix_is_valid(s[2]);
	bool result[_IDENTITY_RULE_TYPE_MAX];
	for (int t = 0; t < _IDENTITY_RULE_TYPE_MAX; t++) {
		struct identity_rule rule = { .type = t, .value = s[2], .prefix = s[2], .signed_prefix = s[3] };
		result[t] = identity_matches(&rule, have_image ? &image : NULL, s[1]);
	}
	if (result[IDENTITY_MATCH_EXACT] &&
	    (!result[IDENTITY_MATCH_REPO_DIGEST_OR_EXACT] || !result[IDENTITY_MATCH_REPOSITORY]))
		abort();
	struct identity_ref parts;
	if (have_image)
		(void) identity_ref_from_parts(image.domain, image.path, image.tag[0] ? image.tag : NULL,
					       image.digest[0] ? image.digest : NULL, &parts);
	(void) identity_ref_from_parts(s[0], s[1], s[2], s[3], &parts);
	free(copy);
}

static int sign(int c)
{
	return c < 0 ? -1 : c > 0;
}

static void fuzz_downgrade(const uint8_t *data, size_t size)
{
	char *s[STRINGS_MAX];
	char *copy = split(data, size, s);
	if (!copy)
		return;
	struct image_age active = { .created = s[0], .version = s[1] },
			 candidate = { .created = s[2], .version = s[3] };
	char why[256];
	(void) downgrade_decide(&active, &candidate, why, sizeof(why));
	int e1, e2;
	int c1 = version_compare(s[1], s[3], &e1), c2 = version_compare(s[3], s[1], &e2);
	if (e1 != e2 || (e1 == 0 && sign(c1) != -sign(c2)))
		abort();
	int64_t sec;
	uint32_t nsec;
	if (rfc3339_parse(s[0], &sec, &nsec) == 0 && nsec >= 1000000000)
		abort();
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_policy(data + 1, size - 1);
		break;
	case 1:
		fuzz_identity(data + 1, size - 1);
		break;
	default:
		fuzz_downgrade(data + 1, size - 1);
		break;
	}
	return 0;
}
