/* SPDX-License-Identifier: Apache-2.0 */
/* Image references: [HOST[:PORT]/]PATH[:TAG][@sha256:HEX], with Docker's
 * normalization (a first component without '.' or ':' and other than
 * "localhost" is a path on Docker Hub; a single component gets
 * "library/"; no tag and no digest means ":latest"). */
#pragma once

struct image_reference {
	char *registry;   /* as named: "docker.io", "localhost:5000", "quay.io" */
	char *api_host;   /* where the API lives: "registry-1.docker.io" for docker.io */
	char *repository; /* "library/debian" */
	char *tag;        /* NULL when pulled by digest only */
	char *digest;     /* validated "sha256:..." or NULL */
};

/* Parses s into ret (owned, free with reference_done()). -EINVAL when s is
 * not a valid reference. A pure function, so a fuzz target can drive it. */
int reference_parse(const char *s, struct image_reference *ret);
void reference_done(struct image_reference *ref);

/* What to ask the manifest endpoint for: the digest if any, else the tag. */
const char *reference_object(const struct image_reference *ref);
