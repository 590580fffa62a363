/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flatten.h"
#include "layer_prescan.h"
#include "layer_reader.h"
#include "layer_walk.h"
#include "log.h"
#include "util.h"

/* Per path, the highest layer (+1, so 0 is "none") that puts something at
 * exactly this path (replacing a lower file there), and the highest that
 * removes everything a lower layer put below it (whiteout, opaque marker,
 * non-directory entry). */
struct shadow_slot {
	char *path;
	unsigned exact, below;
};

struct shadow_set {
	struct shadow_slot *slots;
	size_t n_slots, n_used; /* open addressing, n_slots a power of two */
};

/* Keyed: with a fixed hash (FNV-1a before) a layer could pick paths that
 * all probe the same run of slots, quadratic in the number of entries. */
static uint64_t hash_path(const char *s, size_t len)
{
	return fs_hash_bytes(s, len);
}

int shadow_set_new(struct shadow_set **ret)
{
	struct shadow_set *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->n_slots = 1024;
	s->slots = calloc(s->n_slots, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

void shadow_set_free(struct shadow_set *s)
{
	for (size_t i = 0; i < s->n_slots; i++)
		free(s->slots[i].path);
	free(s->slots);
	free(s);
}

static struct shadow_slot *find_slot(const struct shadow_set *s, const char *path, size_t len)
{
	size_t mask = s->n_slots - 1;
	for (size_t i = hash_path(path, len) & mask;; i = (i + 1) & mask) {
		struct shadow_slot *slot = &s->slots[i];
		if (!slot->path || (strncmp(slot->path, path, len) == 0 && slot->path[len] == '\0'))
			return slot;
	}
}

static int grow(struct shadow_set *s)
{
	struct shadow_set bigger = { .n_slots = s->n_slots * 2 };
	bigger.slots = calloc(bigger.n_slots, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_slots; i++)
		if (s->slots[i].path)
			*find_slot(&bigger, s->slots[i].path, strlen(s->slots[i].path)) = s->slots[i];
	free(s->slots);
	s->slots = bigger.slots;
	s->n_slots = bigger.n_slots;
	return 0;
}

static int mark(struct shadow_set *s, const char *path, size_t len, unsigned layer, bool below)
{
	if ((s->n_used + 1) * 2 > s->n_slots) {
		int r = grow(s);
		if (r < 0)
			return r;
	}
	struct shadow_slot *slot = find_slot(s, path, len);
	if (!slot->path) {
		slot->path = strndup(path, len);
		if (!slot->path)
			return -ENOMEM;
		s->n_used++;
	}
	if (slot->exact < layer + 1)
		slot->exact = layer + 1;
	if (below && slot->below < layer + 1)
		slot->below = layer + 1;
	return 0;
}

int shadow_set_record(struct shadow_set *s, unsigned layer, const char *path, bool is_dir)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	size_t dir_len = slash ? (size_t) (slash - path) : 0;

	if (!flatten_is_whiteout_name(name))
		return mark(s, path, strlen(path), layer, !is_dir);
	if (streq(name, ".wh..wh..opq")) {
		/* hides lower children, not the directory itself */
		struct shadow_slot *slot;
		int r = mark(s, path, dir_len, layer, false);
		if (r < 0)
			return r;
		slot = find_slot(s, path, dir_len);
		if (slot->below < layer + 1)
			slot->below = layer + 1;
		return 0;
	}
	if (strncmp(name, ".wh..wh.", 8) == 0)
		return 0;
	/* ".wh.X" in D: X and all below it */
	char victim[FLATTEN_PATH_MAX];
	int n = snprintf(victim, sizeof(victim), "%.*s%s%s", (int) dir_len, path, slash ? "/" : "", name + 4);
	if (n < 0 || (size_t) n >= sizeof(victim))
		return -ENAMETOOLONG;
	return mark(s, victim, (size_t) n, layer, true);
}

static unsigned lookup(const struct shadow_set *s, const char *path, size_t len, bool below)
{
	const struct shadow_slot *slot = find_slot(s, path, len);
	if (!slot->path)
		return 0;
	return below ? slot->below : slot->exact;
}

bool shadow_set_hides(const struct shadow_set *s, const char *path, unsigned layer)
{
	size_t len = strlen(path);
	if (lookup(s, path, len, false) > layer + 1)
		return true;
	/* every ancestor, the root ("") included */
	for (size_t i = len; i > 0; i--)
		if (path[i - 1] == '/' && lookup(s, path, i - 1, true) > layer + 1)
			return true;
	return lookup(s, "", 0, true) > layer + 1;
}

static int record_entry(struct layer_walk *w, const struct flatten_entry *e)
{
	struct shadow_set *s = w->userdata;
	char path[FLATTEN_PATH_MAX];
	/* bad paths are reported by the main pass, which refuses them */
	if (flatten_normalize_path(e->path, path, sizeof(path)) < 0 || path[0] == '\0')
		return 0;
	return shadow_set_record(s, (unsigned) w->index, path, !e->hardlink_target && S_ISDIR(e->mode));
}

int shadow_set_scan(struct image_source *src, size_t first, struct shadow_set *s)
{
	struct expansion_budget budget = {};
	for (size_t i = first; i < src->n_layers; i++) {
		struct layer_walk w = { .budget = &budget, .entry = record_entry, .userdata = s };
		int r = layer_walk(src, i, &w);
		if (r < 0)
			return r;
	}
	return 0;
}
