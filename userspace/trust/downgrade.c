/* SPDX-License-Identifier: Apache-2.0 */
#include "downgrade.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sanitize.h"
#include "util.h"

#define VERSION_COMPONENTS_MAX 16
#define VERSION_LENGTH_MAX 256
/* 2000-01-01T00:00:00Z: earlier "created" times are placeholders. */
#define CREATED_MEANINGFUL_FROM 946684800

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n digits at s into *ret; false if any is not a digit. */
static bool digits(const char *s, size_t n, int *ret)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int rfc3339_parse(const char *s, int64_t *ret_sec, uint32_t *ret_nsec)
{
	static const int month_days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, se;
	if (!s || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] + (mo == 2 && is_leap(y)) || h > 23 || mi > 59 ||
	    se > 60)
		return -EINVAL;
	const char *p = s + 19;
	uint32_t nsec = 0;
	if (*p == '.') {
		p++;
		size_t n = strspn(p, "0123456789");
		if (n == 0 || n > 9)
			return -EINVAL;
		for (size_t i = 0; i < 9; i++)
			nsec = nsec * 10 + (i < n ? (uint32_t) (p[i] - '0') : 0);
		p += n;
	}
	int offset = 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		offset = 0;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
	} else
		return -EINVAL;
	/* A leap second counts as the next second's start: good enough to order. */
	*ret_sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
	*ret_nsec = nsec;
	return 0;
}

/* A parsed version: numeric components, then the pre-release part. */
struct version {
	uint64_t parts[VERSION_COMPONENTS_MAX];
	size_t n_parts;
	const char *pre; /* after '-', up to '+' or the end; NULL when none */
	size_t pre_len;
};

static int version_parse(const char *s, struct version *v)
{
	*v = (struct version){};
	if (!s || strlen(s) > VERSION_LENGTH_MAX)
		return -EINVAL;
	if (*s == 'v' || *s == 'V')
		s++;
	for (;;) {
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n > 18 || v->n_parts == VERSION_COMPONENTS_MAX)
			return -EINVAL;
		uint64_t x = 0;
		for (size_t i = 0; i < n; i++)
			x = x * 10 + (uint64_t) (s[i] - '0');
		v->parts[v->n_parts++] = x;
		s += n;
		if (*s != '.')
			break;
		s++;
	}
	/* "2024-05" or "7" are more likely dates or build numbers than versions. */
	if (v->n_parts < 2)
		return -EINVAL;
	size_t build = strcspn(s, "+");
	if (*s == '-') {
		v->pre = s + 1;
		v->pre_len = build - 1;
		/* Identifiers: [0-9A-Za-z-]+ separated by '.'. */
		if (v->pre_len == 0 || v->pre[0] == '.' || v->pre[v->pre_len - 1] == '.')
			return -EINVAL;
		for (size_t i = 0; i < v->pre_len; i++) {
			char c = v->pre[i];
			bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
				  (c == '.' && v->pre[i + 1] != '.');
			if (!ok)
				return -EINVAL;
		}
	} else if (build != 0)
		return -EINVAL;
	if (s[build] == '+') {
		const char *meta = s + build + 1;
		if (!*meta || meta[strspn(meta, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.")])
			return -EINVAL;
	}
	return 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Semver's pre-release order: identifier by identifier, numbers below
 * words, numbers numerically, a shorter list first when it is a prefix. */
static int pre_compare(const char *a, size_t an, const char *b, size_t bn)
{
	while (an > 0 && bn > 0) {
		size_t al = 0, bl = 0;
		while (al < an && a[al] != '.')
			al++;
		while (bl < bn && b[bl] != '.')
			bl++;
		bool anum = strspn(a, "0123456789") >= al, bnum = strspn(b, "0123456789") >= bl;
		int c;
		if (anum && bnum) {
			/* Compare as numbers without overflow: strip zeros, then length, then digits. */
			while (al > 1 && *a == '0') {
				a++, al--, an--;
			}
			while (bl > 1 && *b == '0') {
				b++, bl--, bn--;
			}
			c = al != bl ? (al < bl ? -1 : 1) : memcmp(a, b, al);
		} else if (anum != bnum)
			c = anum ? -1 : 1;
		else {
			c = memcmp(a, b, al < bl ? al : bl);
			if (c == 0)
				c = al < bl ? -1 : al > bl;
		}
		if (c != 0)
			return c < 0 ? -1 : 1;
		a += al, an -= al, b += bl, bn -= bl;
		if (an > 0)
			a++, an--;
		if (bn > 0)
			b++, bn--;
	}
	return an == bn ? 0 : (an == 0 ? -1 : 1);
}

int version_compare(const char *a, const char *b, int *ret_error)
{
	struct version va, vb;
	*ret_error = 0;
	if (version_parse(a, &va) < 0 || version_parse(b, &vb) < 0) {
		*ret_error = -EINVAL;
		return 0;
	}
	size_t n = va.n_parts > vb.n_parts ? va.n_parts : vb.n_parts;
	for (size_t i = 0; i < n; i++) {
		int c = cmp_u64(i < va.n_parts ? va.parts[i] : 0, i < vb.n_parts ? vb.parts[i] : 0);
		if (c != 0)
			return c;
	}
	/* A pre-release comes before its release. */
	if (!va.pre || !vb.pre)
		return va.pre ? -1 : vb.pre ? 1 : 0;
	return pre_compare(va.pre, va.pre_len, vb.pre, vb.pre_len);
}

static bool created_of(const struct image_age *age, int64_t *sec, uint32_t *nsec)
{
	return age && rfc3339_parse(age->created, sec, nsec) >= 0 && *sec >= CREATED_MEANINGFUL_FROM;
}

static void explain(char *why, size_t size, const char *fmt, const char *candidate, const char *active)
{
	if (!why || size == 0)
		return;
	char c[80], a[80];
	sanitize_to(c, sizeof(c), candidate);
	sanitize_to(a, sizeof(a), active);
	snprintf(why, size, fmt, c, a);
}

enum downgrade_verdict downgrade_decide(const struct image_age *active, const struct image_age *candidate, char *why,
					size_t size)
{
	if (why && size > 0)
		why[0] = '\0';
	int error = 0, c = 0;
	bool versions = active && candidate && active->version && candidate->version;
	if (versions) {
		c = version_compare(candidate->version, active->version, &error);
		versions = error == 0;
	}
	if (versions && c != 0) {
		explain(why, size,
			c < 0 ? "version %s is older than the active %s" : "version %s is newer than the active %s",
			candidate->version, active->version);
		return c < 0 ? DOWNGRADE_OLDER : DOWNGRADE_NEWER;
	}

	int64_t as, cs;
	uint32_t an, cn;
	bool times = created_of(active, &as, &an) && created_of(candidate, &cs, &cn);
	if (times) {
		int t = cs != as ? (cs < as ? -1 : 1) : cn != an ? (cn < an ? -1 : 1) : 0;
		if (t != 0) {
			explain(why, size,
				t < 0 ? "created %s, before the active image (%s)"
				      : "created %s, after the active image (%s)",
				candidate->created, active->created);
			return t < 0 ? DOWNGRADE_OLDER : DOWNGRADE_NEWER;
		}
	}
	if (versions || times) {
		if (why && size > 0)
			snprintf(why, size, "the same %s as the active image", versions ? "version" : "creation time");
		return DOWNGRADE_SAME;
	}
	if (why && size > 0)
		snprintf(why, size, "age unknown: the two images have neither versions nor creation times to compare");
	return DOWNGRADE_UNKNOWN;
}

const char *downgrade_verdict_to_string(enum downgrade_verdict v)
{
	switch (v) {
	case DOWNGRADE_NEWER:
		return "newer";
	case DOWNGRADE_SAME:
		return "same";
	case DOWNGRADE_UNKNOWN:
		return "unknown";
	case DOWNGRADE_OLDER:
		return "older";
	}
	return NULL;
}
