/* SPDX-License-Identifier: Apache-2.0 */
/* Anti-downgrade: is a candidate image older than the active one?
 *
 * A signature says who built an image, not when: whoever controls the
 * registry can serve an older image its owner once signed (with a hole
 * since fixed) under the tag a node upgrades from, and cosign's identity
 * (a repository, no tag) does not stop it. So the age of the candidate is
 * compared with the active image's, from two facts each image carries:
 *
 *   version  a version the image declares (the caller passes the
 *            org.opencontainers.image.version label): "v1.2.3", "1.2",
 *            "3.1.2-rc1", "v3.1.2-k3sv1.29.3+k3s1". At least two numeric
 *            dotted components, missing ones are 0; then semver's pre-release
 *            order (1.2.0-rc1 < 1.2.0); build metadata (+...) ignored.
 *            Anything else ("latest", "2024-05") is not a version.
 *   created  the image config's "created", RFC 3339. A time before
 *            2000-01-01 (reproducible builds write 1970-01-01) says
 *            nothing and counts as absent.
 *
 * The rule:
 *   1. Both declare a version and they differ: the versions decide
 *      (a declared version is the publisher's intent; a hotfix of an old
 *      branch may well be built after a newer release).
 *   2. Otherwise (same version, or one or both without a version), both
 *      have a created time and they differ: the times decide (so a
 *      rebuild of the same version older than the active one is refused
 *      too).
 *   3. Equal on everything they both have: DOWNGRADE_SAME (accept).
 *   4. Nothing comparable (neither a version pair nor a created pair):
 *      DOWNGRADE_UNKNOWN: accept, with a warning, and status says
 *      "age unknown". Refusing would lock out images built without
 *      dates or labels; accepting silently would hide that the check did
 *      not run. Publishers who sign should set the version label.
 * DOWNGRADE_OLDER is refused unless the caller was given
 * --allow-downgrade; rollback to the passive slot is not an install and
 * never asks. Pure functions. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct image_age {
	const char *created; /* RFC 3339, or NULL */
	const char *version; /* declared version, or NULL */
};

enum downgrade_verdict {
	DOWNGRADE_NEWER,   /* accept */
	DOWNGRADE_SAME,    /* accept */
	DOWNGRADE_UNKNOWN, /* accept, warn, status says so */
	DOWNGRADE_OLDER,   /* refuse unless --allow-downgrade */
};

/* The verdict for candidate against active; why (size bytes, may be NULL)
 * says which fact decided, for the log and status ("version 1.2.0 is older
 * than the active 1.3.0"). Strings shown in it are sanitized. */
enum downgrade_verdict downgrade_decide(const struct image_age *active, const struct image_age *candidate, char *why,
					size_t size);
const char *downgrade_verdict_to_string(enum downgrade_verdict v);

/* The pieces, for tests and the fuzz target. */
/* RFC 3339 ("2024-05-01T12:00:00.5+02:00", 't' and 'z' too) as seconds
 * since the epoch and nanoseconds. -EINVAL otherwise (bad ranges, Feb 30,
 * missing offset, more than 9 fraction digits). */
int rfc3339_parse(const char *s, int64_t *ret_sec, uint32_t *ret_nsec);
/* <0, 0, >0 like strcmp; -EINVAL (as *ret_error) when either is not a
 * version as described above. */
int version_compare(const char *a, const char *b, int *ret_error);
