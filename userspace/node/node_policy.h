/* SPDX-License-Identifier: Apache-2.0 */
/* Which signature policy (containers-policy.json, trust/policy.h) is in
 * force on this node, first found wins:
 *   --policy FILE                  the command line
 *   policy.json on COS_OEM         the operator's override (like kairos.conf)
 *   /etc/containers/policy.json    the running image's: an image decides
 *                                  which keys may replace it, and a key
 *                                  rotation ships as an image
 *   none                           nothing is checked; images are unsigned
 * A file that is there but does not parse refuses every fetch. */
#pragma once

#include "policy.h"
#include "state_dir.h"

#define NODE_POLICY_OEM_FILE "policy.json"
#define NODE_POLICY_SYSTEM_FILE "/etc/containers/policy.json"

struct node_policy_options {
	const char *file; /* --policy FILE, or NULL */
	const struct state_dir
		*sd;           /* COS_OEM of the node's own state (not of a --state-dir); NULL: none (a build host) */
	const char *oem_dir;   /* a directory standing in for COS_OEM, or NULL */
	const char *oem_label; /* NULL: "COS_OEM" */
};

/* *ret: the policy, or NULL when there is none. A file named with --policy
 * that is missing, or any file that does not parse: an error naming the
 * file and the JSON path (logged). */
int node_policy_load(const struct node_policy_options *o, struct policy **ret);

/* Whether this node requires every image's signature to carry its
 * dm-verity root hash (issue 17): `signed_root_hash=required` in
 * kairos.conf on COS_OEM (o->oem_dir standing in; read as node_policy_load()
 * reads policy.json there: only for the node's own state), the operator's
 * setting beside policy.json, which containers-policy.json has no field
 * for. `optional` (the default) or no such line: *ret false. Another
 * value: -EINVAL (logged), and the caller refuses every fetch, as for a
 * policy that does not parse. */
int node_policy_require_root_hash(const struct node_policy_options *o, bool *ret);
