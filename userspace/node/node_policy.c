/* SPDX-License-Identifier: Apache-2.0 */
#include "node_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "oem_conf.h"
#include "util.h"

/* The policy's own parse errors say file, JSON path and problem. */
static int load(const char *path, struct policy **ret)
{
	struct policy_error error = {};
	int r = policy_load(path, ret, &error);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return log_error_errno(r, "Refusing every image: the signature policy does not parse: %s",
				       error.message[0] ? error.message : path);
	return 0;
}

struct oem_load {
	struct policy **ret;
	int r; /* load()'s: 1 until it ran */
};

static int load_from_oem(const char *dir, void *userdata)
{
	struct oem_load *l = userdata;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/" NODE_POLICY_OEM_FILE, dir) < 0)
		return -ENOMEM;
	l->r = load(path, l->ret);
	return l->r;
}

int node_policy_load(const struct node_policy_options *o, struct policy **ret)
{
	*ret = NULL;
	if (o->file) {
		int r = load(o->file, ret);
		if (r == -ENOENT)
			return log_error_errno(r, "The signature policy %s given with --policy does not exist",
					       o->file);
		return r;
	}
	/* The partition only for the node's own state: --state-dir is tests
	 * and offline work, whose COS_OEM is --oem-dir. */
	if (o->oem_dir || (o->sd && streq(o->sd->path, STATE_DIR_DEFAULT))) {
		/* COS_OEM is mounted by the time a node upgrades: no waiting for it. */
		struct oem_load l = { .ret = ret, .r = 1 };
		(void) oem_with_dir(o->sd, o->oem_dir, o->oem_label ?: "COS_OEM", 0, load_from_oem, &l);
		/* No COS_OEM, or one that cannot be mounted (warned): the next place. */
		if (l.r != 1 && l.r != -ENOENT)
			return l.r;
	}
	int r = load(NODE_POLICY_SYSTEM_FILE, ret);
	return r == -ENOENT ? 0 : r;
}
