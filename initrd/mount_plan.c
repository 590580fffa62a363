/* SPDX-License-Identifier: Apache-2.0 */
#include "mount_plan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

const char *mount_kind_to_string(enum mount_kind kind)
{
	return kind == MOUNT_OVERLAY ? "overlay" : "bind";
}

int path_escape(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	for (const char *p = path[0] == '/' ? path + 1 : path; *p; p++) {
		char ch = *p;
		char tmp[4];
		if (ch == '/')
			snprintf(tmp, sizeof(tmp), "-");
		else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.')
			snprintf(tmp, sizeof(tmp), "%c", ch);
		else
			snprintf(tmp, sizeof(tmp), "_%02x", (unsigned char) ch);
		size_t len = strlen(tmp);
		if (n + len >= size)
			return -ENAMETOOLONG;
		memcpy(buf + n, tmp, len);
		n += len;
	}
	if (n == 0)
		return -EINVAL;
	buf[n] = '\0';
	return 0;
}

static size_t path_depth(const char *path)
{
	size_t depth = 0;
	for (; *path; path++)
		depth += *path == '/';
	return depth;
}

/* Is path equal to, or below, dir? */
static bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool under_any(const struct path_list *list, const char *path)
{
	for (size_t i = 0; i < list->n; i++)
		if (path_is_under(path, list->paths[i]))
			return true;
	return false;
}

static int add_step(struct mount_plan *plan, enum mount_kind kind, const char *path)
{
	if (plan->n == ELEMENTSOF(plan->steps))
		return -E2BIG;
	struct mount_step *st = &plan->steps[plan->n];
	*st = (struct mount_step){ .kind = kind };
	snprintf(st->path, sizeof(st->path), "%s", path);
	int r = path_escape(path, st->name, sizeof(st->name));
	if (r < 0)
		return r;
	plan->n++;
	return 0;
}

int mount_plan_build(const struct boot_options *o, enum boot_slot slot, bool have_persistent, struct mount_plan *plan)
{
	*plan = (struct mount_plan){ .persistent = have_persistent && slot != BOOT_SLOT_RECOVERY };
	int r;

	for (size_t i = 0; i < o->overlay.n; i++) {
		const char *p = o->overlay.paths[i];
		if (plan->persistent && path_list_contains(&o->persistent, p))
			continue;
		if ((r = add_step(plan, MOUNT_OVERLAY, p)) < 0)
			return r;
	}
	for (size_t i = 0; i < o->persistent.n; i++) {
		const char *p = o->persistent.paths[i];
		if (plan->persistent)
			r = add_step(plan, MOUNT_BIND, p);
		else if (!under_any(&o->overlay, p))
			r = add_step(plan, MOUNT_OVERLAY, p);
		else
			r = 0; /* already writable (and volatile) under its parent's overlay */
		if (r < 0)
			return r;
	}

	/* Stable insertion sort by depth: parents first, list order otherwise. */
	for (size_t i = 1; i < plan->n; i++) {
		struct mount_step tmp = plan->steps[i];
		size_t d = path_depth(tmp.path), j = i;
		for (; j > 0 && path_depth(plan->steps[j - 1].path) > d; j--)
			plan->steps[j] = plan->steps[j - 1];
		plan->steps[j] = tmp;
	}
	return 0;
}
