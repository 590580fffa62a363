/* SPDX-License-Identifier: Apache-2.0 */
#include "boot_options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyvalue.h"
#include "log.h"
#include "util.h"

void boot_options_init(struct boot_options *o)
{
	*o = (struct boot_options){ .wait_seconds = BOOT_DEFAULT_WAIT_SECONDS, .grub_slot = BOOT_SLOT_NONE };
	snprintf(o->state_label, sizeof(o->state_label), "COS_STATE");
	snprintf(o->recovery_label, sizeof(o->recovery_label), "COS_RECOVERY");
	snprintf(o->persistent_label, sizeof(o->persistent_label), "COS_PERSISTENT");
	snprintf(o->init, sizeof(o->init), "/sbin/init");
	/* The defaults are valid by construction. */
	(void) path_list_parse(BOOT_DEFAULT_OVERLAY, &o->overlay);
	(void) path_list_parse(BOOT_DEFAULT_PERSISTENT, &o->persistent);
}

bool boot_path_is_valid(const char *path)
{
	size_t len = strlen(path);
	if (len < 2 || len >= BOOT_PATH_MAX || path[0] != '/' || path[len - 1] == '/')
		return false;
	for (const char *p = path; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == ',' || *p == ':' || *p == '\\')
			return false;
	/* Walk the components: each must be a real name. */
	for (const char *p = path + 1;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t) (slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

bool path_list_contains(const struct path_list *list, const char *path)
{
	for (size_t i = 0; i < list->n; i++)
		if (streq(list->paths[i], path))
			return true;
	return false;
}

int path_list_parse(const char *text, struct path_list *list)
{
	struct path_list out = { 0 };
	const char *p = text;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t) (comma - p) : strlen(p);
		char path[BOOT_PATH_MAX];
		if (n >= sizeof(path))
			return -EINVAL;
		memcpy(path, p, n);
		path[n] = '\0';
		if (n > 0) {
			if (!boot_path_is_valid(path))
				return -EINVAL;
			if (!path_list_contains(&out, path)) {
				if (out.n == BOOT_PATHS_MAX)
					return -E2BIG;
				memcpy(out.paths[out.n++], path, n + 1);
			}
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	*list = out;
	return 0;
}

/* Labels go into blkid lookups and logs only, but keep them plain. */
static bool label_is_valid(const char *label)
{
	size_t len = strlen(label);
	if (len == 0 || len >= BOOT_LABEL_MAX)
		return false;
	for (const char *p = label; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '/')
			return false;
	return true;
}

static int set_label(char *dst, const char *key, const char *value)
{
	if (!label_is_valid(value))
		return log_error_errno(-EINVAL, "Ignoring %s=%s: not a usable label", key, value);
	snprintf(dst, BOOT_LABEL_MAX, "%s", value);
	return 0;
}

static int set_paths(struct path_list *dst, const char *key, const char *value)
{
	int r = path_list_parse(value, dst);
	if (r < 0)
		return log_error_errno(r, "Ignoring %s=%s: not a list of absolute paths (at most %d)", key, value,
				       BOOT_PATHS_MAX);
	return 0;
}

int boot_options_from_cmdline(struct boot_options *o, const struct cmdline *c)
{
	int ret = 0, r;
	const char *v;

	if ((v = cmdline_get(c, "kairos.state")) && (r = set_label(o->state_label, "kairos.state", v)) < 0)
		ret = r;
	if ((v = cmdline_get(c, "kairos.recovery_label")) &&
	    (r = set_label(o->recovery_label, "kairos.recovery_label", v)) < 0)
		ret = r;
	if ((v = cmdline_get(c, "kairos.persistent_label")) &&
	    (r = set_label(o->persistent_label, "kairos.persistent_label", v)) < 0)
		ret = r;

	if ((v = cmdline_get(c, "kairos.live")) && (r = set_label(o->live_label, "kairos.live", v)) < 0)
		ret = r;
	if ((v = cmdline_get(c, "kairos.state_uuid"))) {
		if (strlen(v) < sizeof(o->state_uuid) && strspn(v, "0123456789abcdefABCDEF-") == strlen(v) && *v)
			snprintf(o->state_uuid, sizeof(o->state_uuid), "%s", v);
		else
			ret = log_error_errno(-EINVAL, "Ignoring kairos.state_uuid=%s: not a filesystem UUID", v);
	}

	if ((v = cmdline_get(c, "kairos.overlay"))) {
		r = set_paths(&o->overlay, "kairos.overlay", v);
		if (r < 0)
			ret = r;
		else
			o->overlay_from_cmdline = true;
	}
	if ((v = cmdline_get(c, "kairos.persistent"))) {
		r = set_paths(&o->persistent, "kairos.persistent", v);
		if (r < 0)
			ret = r;
		else
			o->persistent_from_cmdline = true;
	}

	if ((v = cmdline_get(c, "kairos.wait"))) {
		char *end;
		errno = 0;
		unsigned long s = strtoul(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-' || s > BOOT_WAIT_SECONDS_MAX)
			ret = log_error_errno(-EINVAL, "Ignoring kairos.wait=%s: not 0..%d seconds", v,
					      BOOT_WAIT_SECONDS_MAX);
		else
			o->wait_seconds = (unsigned) s;
	}

	if ((v = cmdline_get(c, "kairos.slot"))) {
		o->grub_slot = boot_slot_from_string(v);
		if (o->grub_slot == BOOT_SLOT_NONE)
			ret = log_error_errno(-EINVAL, "Ignoring kairos.slot=%s: not active, passive or recovery", v);
	}
	if ((v = cmdline_get(c, "kairos.image"))) {
		if (image_id_is_valid(v))
			snprintf(o->grub_image, sizeof(o->grub_image), "%s", v);
		else
			ret = log_error_errno(-EINVAL, "Ignoring kairos.image=%s: not 64 lowercase hex digits", v);
	}
	if ((v = cmdline_get(c, "kairos.verity"))) {
		const char *why;
		if (slot_verity_parse(v, &o->live_verity, &why) < 0)
			ret = log_error_errno(-EINVAL,
					      "kairos.verity= is not a verity record (%s): the live image "
					      "will not be mounted",
					      why);
	}
	v = cmdline_get(c, "kairos.counted");
	o->counted = v && streq(v, "1");
	/* Without the slot GRUB chose there is nothing to trust the count for. */
	if (o->counted && o->grub_slot == BOOT_SLOT_NONE) {
		log_warning("kairos.counted=1 without a valid kairos.slot: deciding here");
		o->counted = false;
	}

	if ((v = cmdline_get(c, "kairos.via"))) {
		if (streq(v, "rules"))
			o->via = BOOT_VIA_RULES;
		else if (streq(v, "one-shot"))
			o->via = BOOT_VIA_ONE_SHOT;
		else if (streq(v, "fallback"))
			o->via = BOOT_VIA_FALLBACK;
		else if (streq(v, "menu"))
			o->via = BOOT_VIA_MENU;
		else if (streq(v, "last-resort"))
			o->via = BOOT_VIA_LAST_RESORT;
		else
			ret = log_error_errno(
				-EINVAL, "Ignoring kairos.via=%s: not rules, one-shot, fallback, menu or last-resort",
				v);
	}

	if ((v = cmdline_get(c, "init"))) {
		if (v[0] == '/' && strlen(v) < sizeof(o->init) && !strstr(v, ".."))
			snprintf(o->init, sizeof(o->init), "%s", v);
		else
			ret = log_error_errno(-EINVAL, "Ignoring init=%s: not an absolute path", v);
	}
	return ret;
}

struct apply_conf {
	struct boot_options *options;
	int ret;
};

static void apply_conf_line(const char *key, const char *value, void *userdata)
{
	struct apply_conf *c = userdata;
	if (!value) {
		c->ret = log_error_errno(-EINVAL, "boot.conf: ignoring line without '=': %s", key);
		return;
	}
	struct boot_options *o = c->options;
	int r = 0;
	if (streq(key, "overlay")) {
		if (!o->overlay_from_cmdline)
			r = set_paths(&o->overlay, "boot.conf overlay", value);
	} else if (streq(key, "persistent")) {
		if (!o->persistent_from_cmdline)
			r = set_paths(&o->persistent, "boot.conf persistent", value);
	} else {
		log_warning("boot.conf: ignoring unknown key %s", key);
	}
	if (r < 0)
		c->ret = r;
}

int boot_options_apply_conf(struct boot_options *o, const char *text)
{
	struct apply_conf c = { .options = o };
	int r = keyvalue_parse(text, apply_conf_line, &c);
	return r < 0 ? r : c.ret;
}
