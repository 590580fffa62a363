/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifest.h"
#include "util.h"

#define D(c)                                                                                                          \
	"sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
		c c c c c c c c c c c c c c

static const char oci_manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D(
		"a") "\",\"size\":10},"
		     "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D(
			     "b") "\",\"size\":20},"
				  "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D(
					  "c") "\",\"size\":30}]}";

static const char docker_list[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
	"\"manifests\":["
	"{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" D(
		"1") "\",\"size\":1,"
		     "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
		     "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" D(
			     "2") "\",\"size\":2,"
				  "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
				  "{\"mediaType\":\"application/"
				  "vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" D(
					  "3") "\",\"size\":3,"
					       "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
					       "{\"mediaType\":\"application/"
					       "vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" D(
						       "4") "\",\"size\":4,"
							    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}"
							    "}]}";

static void test_image(void **state)
{
	(void) state;
	struct manifest m;
	assert_int_equal(manifest_parse(oci_manifest, strlen(oci_manifest),
					"application/vnd.oci.image.manifest.v1+json; charset=utf-8", &m),
			 0);
	assert_int_equal(m.kind, MANIFEST_IMAGE);
	assert_string_equal(m.config.digest, D("a"));
	assert_int_equal(m.n_entries, 2);
	assert_int_equal(m.entries[1].size, 30);
	assert_true(layer_media_type_is_supported(m.entries[0].media_type));
	assert_true(layer_media_type_is_supported(m.entries[1].media_type));
	manifest_done(&m);

	/* Generic transport type: the body decides. */
	assert_int_equal(manifest_parse(oci_manifest, strlen(oci_manifest), "application/json", &m), 0);
	assert_string_equal(m.media_type, MEDIA_TYPE_OCI_MANIFEST);
	manifest_done(&m);

	/* The body contradicting the transport is refused. */
	assert_int_equal(manifest_parse(oci_manifest, strlen(oci_manifest), MEDIA_TYPE_DOCKER_MANIFEST, &m), -EBADMSG);
	assert_false(layer_media_type_is_supported("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"));
}

static void test_refused(void **state)
{
	(void) state;
	struct manifest m;
	const char *schema1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";
	assert_int_equal(manifest_parse(schema1, strlen(schema1), NULL, &m), -EPROTONOSUPPORT);
	assert_int_equal(manifest_parse(schema1, strlen(schema1), MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED, &m),
			 -EPROTONOSUPPORT);
	char *t = manifest_detect_media_type(schema1, strlen(schema1), "application/json");
	assert_string_equal(t, MEDIA_TYPE_DOCKER_SCHEMA1);
	free(t);

	static const char *const bad[] = {
		"",
		"[]",
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}",
		"{\"schemaVersion\":2,\"layers\":[],\"config\":{\"digest\":\"sha256:x\",\"size\":1}}",
		"{\"schemaVersion\":2,\"layers\":[{\"digest\":\"" D("b") "\",\"size\":-1}],\"config\":{\"digest\":\"" D(
			"a") "\",\"size\":1}}",
		"{\"schemaVersion\":2,\"layers\":[{\"digest\":\"" D("b") "\"}],\"config\":{\"digest\":\"" D(
			"a") "\",\"size\":1}}",
		"{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D("b") "\",\"size\":1,\"platform\":[]}]}",
		"{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}",
		"{\"schemaVersion\":3,\"manifests\":[]}",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (manifest_parse(bad[i], strlen(bad[i]), NULL, &m) != -EBADMSG)
			fail_msg("accepted #%zu", i);
	assert_int_equal(manifest_parse("{}", 2, "application/vnd.example+json", &m), -EPROTONOSUPPORT);
}

static void test_platforms(void **state)
{
	(void) state;
	struct manifest m;
	assert_int_equal(manifest_parse(docker_list, strlen(docker_list), MEDIA_TYPE_DOCKER_LIST, &m), 0);
	assert_int_equal(m.kind, MANIFEST_INDEX);
	assert_int_equal(m.n_entries, 4);

	struct platform p;
	size_t i;
	assert_int_equal(platform_parse("linux/amd64", &p), 0);
	assert_int_equal(manifest_choose_platform(&m, &p, &i), 0);
	assert_int_equal(i, 3);
	platform_done(&p);

	assert_int_equal(platform_parse("linux/arm64/v8", &p), 0);
	assert_int_equal(manifest_choose_platform(&m, &p, &i), 0);
	assert_int_equal(i, 2);
	platform_done(&p);

	assert_int_equal(platform_parse("linux/arm", &p), 0);
	assert_int_equal(manifest_choose_platform(&m, &p, &i), 0);
	assert_int_equal(i, 1);
	platform_done(&p);

	assert_int_equal(platform_parse("linux/arm/v6", &p), 0);
	assert_int_equal(manifest_choose_platform(&m, &p, &i), -ENOENT);
	platform_done(&p);

	assert_int_equal(platform_parse("unknown/unknown", &p), 0);
	assert_int_equal(manifest_choose_platform(&m, &p, &i), -ENOENT);
	platform_done(&p);

	char *list = manifest_list_platforms(&m);
	assert_string_equal(list, "linux/arm/v7, linux/arm64, linux/amd64");
	free(list);
	manifest_done(&m);

	assert_int_equal(platform_parse("linux", &p), -EINVAL);
	assert_int_equal(platform_parse("/amd64", &p), -EINVAL);
	assert_int_equal(platform_parse("linux/", &p), -EINVAL);
	assert_int_equal(platform_parse("linux/arm/", &p), -EINVAL);
	assert_int_equal(platform_parse("a/b/c/d", &p), -EINVAL);

	assert_int_equal(platform_native(&p), 0);
	assert_string_equal(p.os, "linux");
	assert_non_null(p.architecture);
	platform_done(&p);
}

static void test_media_type_strip(void **state)
{
	(void) state;
	char *s = media_type_strip(" application/json ; charset=utf-8");
	assert_string_equal(s, "application/json");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_platforms),
		cmocka_unit_test(test_media_type_strip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
