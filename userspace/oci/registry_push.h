/* SPDX-License-Identifier: Apache-2.0 */
/* Pushing to a registry, as `sign` needs it: small blobs by monolithic
 * upload (POST /v2/NAME/blobs/uploads/, then PUT LOCATION?digest=) and
 * manifests by tag, on registry.h's connection and authorization (open it
 * with registry_options.push, so tokens are asked for with push). A
 * refusal is logged naming the registry, what was refused, and what to do. */
#pragma once

#include <stddef.h>

#include "digest.h"
#include "registry.h"

/* Uploads data[0..size) unless the registry already has it (a HEAD);
 * ret_digest gets its digest. */
int registry_push_blob(struct registry *reg, const void *data, size_t size, const char *what,
		       char ret_digest[static DIGEST_STRING_MAX]);

/* Whether the repository has a manifest at tag (a HEAD, nothing logged
 * for a 404): 1 yes, 0 no, negative errno when the registry would not say
 * (logged). */
int registry_has_manifest(struct registry *reg, const char *tag);

/* PUTs a manifest at tag (or digest) with its media type; ret_digest (may
 * be NULL) gets its digest, checked against what the registry says. */
int registry_push_manifest(struct registry *reg, const char *tag, const void *body, size_t size, const char *media_type,
			   char *ret_digest);
