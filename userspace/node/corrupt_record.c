/* SPDX-License-Identifier: Apache-2.0 */
#include "corrupt_record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "durable.h"
#include "keyvalue.h"
#include "log.h"
#include "util.h"

static const char *const areas[] = { "data", "hash", "tree", "superblock", "padding", "end of file" };

const char *corrupt_area_from_string(const char *s)
{
	for (size_t i = 0; s && i < ELEMENTSOF(areas); i++)
		if (streq(s, areas[i]))
			return areas[i];
	return NULL;
}

void corrupt_reason(char *buf, size_t size, const char *area, uint64_t block, const char *image)
{
	/* 12 hex digits of the id, fewer when a long block number needs room:
	 * the reason must fit state.env's bound whole. */
	for (int id_len = 12; id_len >= 4; id_len -= 4) {
		int n = streq(area, "end of file")
				? snprintf(buf, size, "dm-verity: image %.*s truncated at block %" PRIu64, id_len,
					   image, block)
				: snprintf(buf, size, "dm-verity: %s block %" PRIu64 " of image %.*s corrupt", area,
					   block, id_len, image);
		if (n >= 0 && (size_t) n < size && n < SLOT_REASON_MAX)
			return;
	}
}

static char *record_path(const char *dir)
{
	char *p;
	return asprintf(&p, "%s/" RECOVERY_CORRUPT_FILE, dir) < 0 ? NULL : p;
}

int corrupt_block_parse(const char *s, uint64_t *ret)
{
	const uint64_t max = CORRUPT_BLOCK_MAX;
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || (s[0] == '0' && s[1]))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno != 0 || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int recovery_corrupt_write(const char *dir, const struct recovery_corrupt *rc)
{
	_cleanup_free_ char *path = record_path(dir), *text = NULL;
	if (!path)
		return -ENOMEM;
	int n = asprintf(&text, "image=%s\nblock=%" PRIu64 "\narea=%s\n", rc->image, rc->block, rc->area);
	if (n < 0)
		return -ENOMEM;
	int r = write_file_atomic(path, text, (size_t) n, 0644);
	if (r < 0)
		return log_error_errno(r, "Failed to write %s: %m", path);
	return 0;
}

struct parse_state {
	struct recovery_corrupt *rc;
	bool image, block, area, bad;
};

static void parse_line(const char *key, const char *value, void *userdata)
{
	struct parse_state *p = userdata;
	if (!value) {
		p->bad = true;
		return;
	}
	if (streq(key, "image") && image_id_is_valid(value)) {
		memcpy(p->rc->image, value, IMAGE_ID_LEN + 1);
		p->image = true;
	} else if (streq(key, "block") && corrupt_block_parse(value, &p->rc->block) == 0)
		p->block = true;
	else if (streq(key, "area") && (p->rc->area = corrupt_area_from_string(value)))
		p->area = true;
	else
		p->bad = true;
}

int recovery_corrupt_parse(const char *text, size_t len, struct recovery_corrupt *rc)
{
	*rc = (struct recovery_corrupt){ 0 };
	if (strnlen(text, len) != len)
		return -EBADMSG; /* a NUL inside */
	struct parse_state p = { .rc = rc };
	int r = keyvalue_parse(text, parse_line, &p);
	if (r < 0)
		return r;
	if (p.bad || !p.image || !p.block || !p.area) {
		*rc = (struct recovery_corrupt){ 0 };
		return -EBADMSG;
	}
	return 0;
}

int recovery_corrupt_read(const char *dir, struct recovery_corrupt *rc)
{
	_cleanup_free_ char *path = record_path(dir);
	if (!path)
		return -ENOMEM;
	char text[512];
	size_t len = 0;
	*rc = (struct recovery_corrupt){ 0 };
	int r = read_file_bounded(path, text, sizeof(text), &len);
	if (r < 0)
		return r == -ENOENT ? r : log_warning_errno(r, "Cannot read %s: %m", path);
	if (len == sizeof(text))
		return log_warning_errno(-EBADMSG, "%s is damaged (too long): ignored", path);
	text[len] = '\0';
	r = recovery_corrupt_parse(text, len, rc);
	if (r == -EBADMSG)
		return log_warning_errno(r, "%s is damaged: ignored", path);
	return r;
}

int recovery_corrupt_clear(const char *dir)
{
	_cleanup_free_ char *path = record_path(dir);
	if (!path)
		return -ENOMEM;
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : log_error_errno(negative_errno(), "Failed to remove %s: %m", path);
	return fsync_parent_dir(path);
}

bool recovery_corrupt_applies(const char *dir, const char *image, struct recovery_corrupt *rc)
{
	return image && image[0] && recovery_corrupt_read(dir, rc) == 0 && streq(rc->image, image);
}

void recovery_corrupt_message(const struct recovery_corrupt *rc, char *buf, size_t size)
{
	snprintf(buf, size, "recovery image corrupt: %s block %" PRIu64 "; run upgrade --recovery", rc->area,
		 rc->block);
}
