/* SPDX-License-Identifier: Apache-2.0 */
#include "node_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "keyvalue.h"
#include "log.h"
#include "oem_conf.h"
#include "recovery_policy.h"
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

struct root_hash_conf {
	bool require;
	int r;
};

static void root_hash_line(const char *key, const char *value, void *userdata)
{
	struct root_hash_conf *c = userdata;
	if (!value || !streq(key, "signed_root_hash"))
		return; /* other keys belong to other readers of kairos.conf */
	if (streq(value, "required"))
		c->require = true;
	else if (streq(value, "optional"))
		c->require = false; /* the last line wins */
	else {
		/* log.c makes it printable; this bounds it. */
		c->r = log_error_errno(-EINVAL,
				       "Refusing every image: " OEM_CONF_FILE
				       " on COS_OEM says signed_root_hash=%.64s; it must be required or optional",
				       value);
	}
}

int node_policy_require_root_hash(const struct node_policy_options *o, bool *ret)
{
	*ret = false;
	if (!o->oem_dir && !(o->sd && streq(o->sd->path, STATE_DIR_DEFAULT)))
		return 0;
	char text[8193];
	if (oem_conf_read(o->sd, o->oem_dir, o->oem_label ?: "COS_OEM", 0, text, sizeof(text)) < 0)
		return 0; /* no COS_OEM or no kairos.conf: not required */
	struct root_hash_conf c = {};
	int r = keyvalue_parse(text, root_hash_line, &c);
	if (r < 0)
		return r;
	if (c.r < 0)
		return c.r;
	*ret = c.require;
	return 0;
}
