/* SPDX-License-Identifier: Apache-2.0 */
#include "manifest.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "digest.h"
#include "util.h"

/* Bounds the work a hostile manifest can cause. */
#define MANIFEST_ENTRIES_MAX 4096

static const char *const layer_media_types[] = {
	"application/vnd.oci.image.layer.v1.tar",       "application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",  "application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar", "application/vnd.docker.image.rootfs.diff.tar.zstd",
};

bool layer_media_type_is_supported(const char *media_type)
{
	for (size_t i = 0; i < ELEMENTSOF(layer_media_types); i++)
		if (streq_ptr(media_type, layer_media_types[i]))
			return true;
	return false;
}

char *media_type_strip(const char *content_type)
{
	if (!content_type)
		return NULL;
	size_t start = strspn(content_type, " \t");
	size_t len = strcspn(content_type + start, "; \t\r\n");
	return strndup(content_type + start, len);
}

static bool media_type_is_generic(const char *t)
{
	return !t || !*t || streq(t, "application/json") || streq(t, "text/plain") ||
	       streq(t, "application/octet-stream");
}

static int kind_from_media_type(const char *t, enum manifest_kind *ret)
{
	if (streq(t, MEDIA_TYPE_OCI_MANIFEST) || streq(t, MEDIA_TYPE_DOCKER_MANIFEST))
		*ret = MANIFEST_IMAGE;
	else if (streq(t, MEDIA_TYPE_OCI_INDEX) || streq(t, MEDIA_TYPE_DOCKER_LIST))
		*ret = MANIFEST_INDEX;
	else
		return -EPROTONOSUPPORT;
	return 0;
}

/* The type to dispatch on: the transport's, unless it is generic; then the
 * body's "mediaType"; then the shape (old OCI manifests omit mediaType). */
static char *detect(json_t *root, const char *media_type)
{
	_cleanup_free_ char *outer = media_type_strip(media_type);
	if (!media_type_is_generic(outer))
		return TAKE_PTR(outer);
	const char *inner = json_string_value(json_object_get(root, "mediaType"));
	if (inner)
		return strdup(inner);
	if (json_integer_value(json_object_get(root, "schemaVersion")) == 1)
		return strdup(MEDIA_TYPE_DOCKER_SCHEMA1);
	if (json_is_array(json_object_get(root, "manifests")))
		return strdup(MEDIA_TYPE_OCI_INDEX);
	if (json_is_array(json_object_get(root, "layers")))
		return strdup(MEDIA_TYPE_OCI_MANIFEST);
	return strdup("unknown");
}

static json_t *load(const void *buf, size_t size)
{
	json_error_t error;
	return json_loadb(buf, size, JSON_REJECT_DUPLICATES, &error);
}

char *manifest_detect_media_type(const void *buf, size_t size, const char *media_type)
{
	json_t *root = load(buf, size);
	char *t = detect(root, media_type);
	json_decref(root);
	return t;
}

static int dup_optional_string(json_t *obj, const char *key, char **ret)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -EBADMSG;
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : -ENOMEM;
}

void platform_done(struct platform *p)
{
	free(p->os);
	free(p->architecture);
	free(p->variant);
	*p = (struct platform){};
}

static void descriptor_done(struct descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	platform_done(&d->platform);
	*d = (struct descriptor){};
}

static int descriptor_parse(json_t *obj, struct descriptor *d)
{
	if (!json_is_object(obj))
		return -EBADMSG;
	const char *digest = json_string_value(json_object_get(obj, "digest"));
	const char *media_type = json_string_value(json_object_get(obj, "mediaType"));
	json_t *size = json_object_get(obj, "size");
	if (!digest_is_valid(digest) || !json_is_integer(size) || json_integer_value(size) < 0)
		return -EBADMSG;
	d->size = (uint64_t) json_integer_value(size);
	d->digest = strdup(digest);
	/* Docker's schema2 always names it; old OCI manifests may not. */
	d->media_type = media_type ? strdup(media_type) : NULL;
	if (!d->digest || (media_type && !d->media_type))
		return -ENOMEM;
	if (media_type == NULL && json_object_get(obj, "mediaType"))
		return -EBADMSG;

	json_t *platform = json_object_get(obj, "platform");
	if (platform) {
		if (!json_is_object(platform))
			return -EBADMSG;
		int r = dup_optional_string(platform, "os", &d->platform.os);
		if (r >= 0)
			r = dup_optional_string(platform, "architecture", &d->platform.architecture);
		if (r >= 0)
			r = dup_optional_string(platform, "variant", &d->platform.variant);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_root(json_t *root, const char *media_type, struct manifest *m)
{
	if (!json_is_object(root))
		return -EBADMSG;

	m->media_type = detect(root, media_type);
	if (!m->media_type)
		return -ENOMEM;
	int r = kind_from_media_type(m->media_type, &m->kind);
	if (r < 0)
		return r;

	/* The body must not contradict the type it was served or referred as:
	 * a registry could otherwise make a client read one thing as another. */
	const char *inner = json_string_value(json_object_get(root, "mediaType"));
	if (inner && !streq(inner, m->media_type))
		return -EBADMSG;
	if (json_integer_value(json_object_get(root, "schemaVersion")) != 2)
		return -EBADMSG;

	json_t *entries = json_object_get(root, m->kind == MANIFEST_INDEX ? "manifests" : "layers");
	if (!json_is_array(entries) || json_array_size(entries) > MANIFEST_ENTRIES_MAX)
		return -EBADMSG;
	if (m->kind == MANIFEST_IMAGE) {
		r = descriptor_parse(json_object_get(root, "config"), &m->config);
		if (r < 0)
			return r;
	}

	m->entries = calloc(json_array_size(entries) + 1, sizeof(*m->entries));
	if (!m->entries)
		return -ENOMEM;
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		r = descriptor_parse(e, &m->entries[i]);
		m->n_entries = i + 1;
		if (r < 0)
			return r;
	}
	return 0;
}

int manifest_parse(const void *buf, size_t size, const char *media_type, struct manifest *ret)
{
	json_t *root = load(buf, size);
	if (!root)
		return -EBADMSG;
	struct manifest m = {};
	int r = parse_root(root, media_type, &m);
	json_decref(root);
	if (r < 0) {
		manifest_done(&m);
		return r;
	}
	*ret = m;
	return 0;
}

void manifest_done(struct manifest *m)
{
	free(m->media_type);
	descriptor_done(&m->config);
	for (size_t i = 0; i < m->n_entries; i++)
		descriptor_done(&m->entries[i]);
	free(m->entries);
	*m = (struct manifest){};
}

int platform_parse(const char *s, struct platform *ret)
{
	struct platform p = {};
	const char *a = strchr(s, '/');
	if (!a || a == s || !a[1])
		return -EINVAL;
	const char *v = strchr(a + 1, '/');
	if (v && (v == a + 1 || !v[1] || strchr(v + 1, '/')))
		return -EINVAL;
	p.os = strndup(s, a - s);
	p.architecture = v ? strndup(a + 1, v - a - 1) : strdup(a + 1);
	p.variant = v ? strdup(v + 1) : NULL;
	if (!p.os || !p.architecture || (v && !p.variant)) {
		platform_done(&p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

int platform_native(struct platform *ret)
{
	static const struct {
		const char *machine, *arch, *variant;
	} map[] = {
		{ "x86_64", "amd64", NULL },    { "aarch64", "arm64", NULL }, { "armv7l", "arm", "v7" },
		{ "armv6l", "arm", "v6" },      { "i686", "386", NULL },      { "i386", "386", NULL },
		{ "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },   { "riscv64", "riscv64", NULL },
	};
	struct utsname u;
	if (uname(&u) < 0)
		return -errno;
	const char *arch = u.machine, *variant = NULL;
	for (size_t i = 0; i < ELEMENTSOF(map); i++)
		if (streq(u.machine, map[i].machine)) {
			arch = map[i].arch;
			variant = map[i].variant;
			break;
		}
	struct platform p = { strdup("linux"), strdup(arch), variant ? strdup(variant) : NULL };
	if (!p.os || !p.architecture || (variant && !p.variant)) {
		platform_done(&p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

char *platform_to_string(const struct platform *p)
{
	char *s;
	if (asprintf(&s, "%s/%s%s%s", p->os ?: "?", p->architecture ?: "?", p->variant ? "/" : "", p->variant ?: "") <
	    0)
		return NULL;
	return s;
}

/* arm64 images name variant v8 or nothing at all: the same machine. */
static const char *normalized_variant(const struct platform *p)
{
	if (p->variant && *p->variant)
		return p->variant;
	if (streq_ptr(p->architecture, "arm64"))
		return "v8";
	return NULL;
}

int manifest_choose_platform(const struct manifest *index, const struct platform *want, size_t *ret)
{
	for (size_t i = 0; i < index->n_entries; i++) {
		const struct platform *p = &index->entries[i].platform;
		if (streq_ptr(p->os, "unknown") && streq_ptr(p->architecture, "unknown"))
			continue;
		if (!streq_ptr(p->os, want->os) || !streq_ptr(p->architecture, want->architecture))
			continue;
		/* No variant asked for: take the first of that architecture. */
		if (want->variant && !streq_ptr(normalized_variant(p), normalized_variant(want)))
			continue;
		*ret = i;
		return 0;
	}
	return -ENOENT;
}

char *manifest_list_platforms(const struct manifest *index)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	bool first = true;
	for (size_t i = 0; i < index->n_entries; i++) {
		const struct platform *p = &index->entries[i].platform;
		if (streq_ptr(p->os, "unknown") && streq_ptr(p->architecture, "unknown"))
			continue;
		_cleanup_free_ char *s = platform_to_string(p);
		fprintf(f, "%s%s", first ? "" : ", ", s ?: "?");
		first = false;
	}
	if (first)
		fputs("(none)", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
