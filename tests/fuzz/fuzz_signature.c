/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: the signature manifest a registry serves at sha256-HEX.sig
 * (userspace/oci/signature.c), under a policy that requires a signature by
 * a fixed key. The input is split at its first NUL: before it, the
 * signature manifest; after it, the bytes every blob is made of (a store
 * stops a blob at its descriptor's size, as the real ones do). Whatever it
 * says, nothing may be accepted: the fuzzer holds no private key. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy.h"
#include "signature.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_json[] = "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyData\":\""
				  "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUZrd0V3WUhLb1pJemowQ0FRWUlLb1pJemowREFRY0RRZ0FF"
				  "TkRqaVF3dDdoOFo1NURHd2dYYVZrdGtCK0tpSwpZcFhwTG5xYUdkOEJnZTNheWlPcGxYTklHZWNqc3N1bUJN"
				  "M3Vmd3VpN1V2WENsNk5hL0VNeVlOeVJnPT0KLS0tLS1FTkQgUFVCTElDIEtFWS0tLS0tCg=="
				  "\"}]}";

struct input {
	const uint8_t *manifest, *blob;
	size_t manifest_size, blob_size;
};

static int fetch_manifest(void *ctx, const char *object, unsigned flags, char **ret_body, size_t *ret_size,
			  char **ret_media_type, char ret_digest[static DIGEST_STRING_MAX])
{
	(void) flags;
	const struct input *in = ctx;
	(void) object;
	*ret_body = malloc(in->manifest_size + 1);
	if (!*ret_body)
		return -ENOMEM;
	memcpy(*ret_body, in->manifest, in->manifest_size);
	(*ret_body)[in->manifest_size] = '\0';
	*ret_size = in->manifest_size;
	*ret_media_type = NULL;
	return digest_buffer(in->manifest, in->manifest_size, ret_digest);
}

static int produce_blob(void *ctx, const struct descriptor *d, blob_sink_t sink, void *sink_ctx)
{
	const struct input *in = ctx;
	size_t n = in->blob_size < d->size ? in->blob_size : (size_t) d->size;
	return n ? sink(sink_ctx, in->blob, n) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *policy;
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	if (!policy) {
		struct policy_error error;
		if (policy_parse(policy_json, strlen(policy_json), "fuzz", &policy, &error) < 0)
			abort();
	}
	const uint8_t *nul = memchr(data, 0, size);
	struct input in = {
		.manifest = data,
		.manifest_size = nul ? (size_t) (nul - data) : size,
		.blob = nul ? nul + 1 : NULL,
		.blob_size = nul ? size - (size_t) (nul - data) - 1 : 0,
	};
	struct manifest_store store = {
		.name = "fuzz",
		.fetch_manifest = fetch_manifest,
		.produce_blob = produce_blob,
		.ctx = &in,
	};
	struct signature_verdict v;
	static const char digest[] = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	if (signature_check(policy, &store, NULL, "fuzz", digest, NULL, &v) == 0)
		abort(); /* accepted without a signature by the key */
	return 0;
}
