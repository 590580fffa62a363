/* SPDX-License-Identifier: Apache-2.0 */
/* A manifest store over an OCI image layout directory (index.json +
 * blobs/sha256/...), for `--source oci-layout:DIR[:TAG]`. Every manifest
 * and blob read is verified against its digest, like a registry's. */
#pragma once

#include "pull_source.h"

/* spec is "DIR" or "DIR:TAG". ret_object is the tag to resolve, or NULL for
 * the layout's only image. */
int oci_layout_open(const char *spec, struct manifest_store *ret_store, char **ret_object);
/* The same over a tar of a layout, for `--source oci-archive:FILE[:TAG]`
 * (FILE "-" is standard input). Closed with oci_layout_close(). */
int oci_archive_open(const char *spec, struct manifest_store *ret_store, char **ret_object);
void oci_layout_close(struct manifest_store *store);

/* "PATH[:TAG]" into its parts; the ':' is kept in PATH when the whole names
 * an existing file. *ret_tag is NULL when there is none. */
int source_spec_split(const char *spec, char **ret_path, char **ret_tag);
