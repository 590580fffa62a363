/* SPDX-License-Identifier: Apache-2.0 */
/* What the anti-downgrade rule (trust/downgrade.h) reads from an image's
 * OCI config: its "created" time and its org.opencontainers.image.version
 * label. The config comes from the registry and the metadata beside an
 * image from a disk: a value is kept only when it is bounded, printable
 * ASCII and well-formed, else it counts as absent (NULL) — a hostile
 * config can make the rule say "age unknown", never garble a terminal or
 * pass as a time it is not. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define IMAGE_VERSION_LABEL "org.opencontainers.image.version"
/* "2024-05-01T12:00:00.123456789+02:00" is 35; room for nothing hostile. */
#define IMAGE_CREATED_MAX 40
/* Longer than any real version ("v3.1.2-k3sv1.29.3+k3s1" is 22). */
#define IMAGE_VERSION_MAX 128

/* An RFC 3339 time of at most IMAGE_CREATED_MAX bytes. */
bool image_created_is_valid(const char *s);
/* 1..IMAGE_VERSION_MAX bytes of printable ASCII without spaces. Whether it
 * is a version the rule can order is downgrade_decide()'s business: it
 * is shown either way ("latest"). */
bool image_version_is_valid(const char *s);

/* From the parsed config (any JSON value; NULL when it did not parse):
 * *ret_created and *ret_version, each allocated or NULL (absent, wrong type
 * or invalid). -ENOMEM only. */
int image_config_age(json_t *config, char **ret_created, char **ret_version);
