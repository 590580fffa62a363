/* SPDX-License-Identifier: Apache-2.0 */
/* containers-policy.json: the examples users copy (the man page's, a bootc
 * signed-image demo's, RHEL's), the scope lookup, and hostile files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "util.h"

/* JSON written with ' for " (none of the samples needs a '). */
static char *json(const char *text)
{
	char *s = strdup(text);
	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static struct policy *parse_ok(const char *text)
{
	char *s = json(text);
	struct policy *p = NULL;
	struct policy_error e;
	int r = policy_parse(s, strlen(s), "test.json", &p, &e);
	if (r < 0)
		fail_msg("refused (%d): %s", r, e.message);
	free(s);
	return p;
}

/* Refused with r, and the message contains want (the JSON path and the
 * problem). */
static void parse_refused(const char *text, int want_r, const char *want)
{
	char *s = json(text);
	struct policy *p = NULL;
	struct policy_error e;
	int r = policy_parse(s, strlen(s), "/etc/containers/policy.json", &p, &e);
	if (r != want_r || !strstr(e.message, want) || strncmp(e.message, "/etc/containers/policy.json: ", 29) != 0)
		fail_msg("%s\n  got %d \"%s\", want %d \"...%s...\"", s, r, e.message, want_r, want);
	assert_null(p);
	free(s);
}

static const struct policy_requirements *lookup(const struct policy *p, const char *ref)
{
	struct identity_ref image;
	if (identity_ref_parse(ref, &image) < 0)
		fail_msg("bad reference %s", ref);
	return policy_lookup_docker(p, &image);
}

static void assert_scope(const struct policy *p, const char *ref, const char *scope)
{
	const struct policy_requirements *reqs = lookup(p, ref);
	if (!streq_ptr(reqs->scope, scope))
		fail_msg("%s: scope %s, want %s", ref, reqs->scope ? reqs->scope : "(default)",
			 scope ? scope : "(default)");
}

/* containers-policy.json(5), "A reasonably locked-down system", without
 * its comments (which the man page says are not JSON). */
static const char man_page[] =
	"{'default': [{'type': 'reject'}],"
	" 'transports': {"
	"  'docker': {"
	"   'docker.io/openshift': [{'type': 'insecureAcceptAnything'}],"
	"   'docker.io/library/busybox': [{'type': 'insecureAcceptAnything'}],"
	"   '*.temporary-project.example.com': [{'type': 'insecureAcceptAnything'}],"
	"   'hostname:5000/myns/sigstore-signed-with-full-references': ["
	"     {'type': 'sigstoreSigned', 'keyPath': '/path/to/sigstore-pubkey.pub'}],"
	"   'hostname:5000/myns/sigstore-signed-allows-malicious-tag-substitution': ["
	"     {'type': 'sigstoreSigned', 'keyPath': '/path/to/sigstore-pubkey.pub',"
	"      'signedIdentity': {'type': 'matchRepository'}}]"
	"  },"
	"  'dir': {'': [{'type': 'insecureAcceptAnything'}]},"
	"  'atomic': {"
	"   'hostname:5000/myns/official': ["
	"     {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': '/path/to/official-pubkey.gpg'}],"
	"   'hostname:5000/vendor/product': ["
	"     {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': '/path/to/vendor-pubkey.gpg',"
	"      'signedIdentity': {'type': 'exactRepository', 'dockerRepository': "
	"'vendor-hostname/product/repository'}},"
	"     {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': '/path/to/reviewer-pubkey.gpg'}],"
	"   'private-mirror:5000/vendor-mirror': ["
	"     {'type': 'signedBy', 'keyType': 'GPGKeys', 'keyPath': '/path/to/vendor-pubkey.gpg',"
	"      'signedIdentity': {'type': 'remapIdentity', 'prefix': 'private-mirror:5000/vendor-mirror',"
	"                         'signedPrefix': 'vendor.example.com'}}]"
	"  }"
	" }"
	"}";

static void test_man_page_example(void **unused)
{
	(void) unused;
	struct policy *p = parse_ok(man_page);
	assert_int_equal(p->n_docker, 5);
	assert_int_equal(p->n_ignored_transports, 2);
	assert_string_equal(p->ignored_transports[0], "dir");
	assert_string_equal(p->ignored_transports[1], "atomic");

	assert_scope(p, "docker.io/openshift/hello-openshift:latest", "docker.io/openshift");
	assert_scope(p, "busybox:latest", "docker.io/library/busybox");
	assert_scope(p, "a.temporary-project.example.com/x:1", "*.temporary-project.example.com");
	assert_scope(p, "b.a.temporary-project.example.com:5000/x:1", "*.temporary-project.example.com");
	assert_scope(p, "temporary-project.example.com/x:1", NULL);
	assert_scope(p, "quay.io/x/y:1", NULL);

	const struct policy_requirements *reqs =
		lookup(p, "hostname:5000/myns/sigstore-signed-with-full-references:v1");
	assert_int_equal(reqs->n_items, 1);
	assert_int_equal(reqs->items[0].type, POLICY_SIGSTORE_SIGNED);
	assert_int_equal(reqs->items[0].n_keys, 1);
	assert_string_equal(reqs->items[0].keys[0].path, "/path/to/sigstore-pubkey.pub");
	assert_null(reqs->items[0].keys[0].pem);
	assert_int_equal(reqs->items[0].signed_identity.type, IDENTITY_MATCH_REPO_DIGEST_OR_EXACT);
	bool need;
	const char *why;
	assert_int_equal(policy_requirements_check(reqs, &need, &why), 0);
	assert_true(need);

	reqs = lookup(p, "hostname:5000/myns/sigstore-signed-allows-malicious-tag-substitution:latest");
	assert_int_equal(reqs->items[0].signed_identity.type, IDENTITY_MATCH_REPOSITORY);

	assert_int_equal(policy_requirements_check(lookup(p, "quay.io/x/y:1"), &need, &why), -EACCES);
	assert_non_null(why);
	assert_int_equal(policy_requirements_check(lookup(p, "busybox:1"), &need, &why), 0);
	assert_false(need);
	policy_free(p);

	/* "Completely disable security". */
	p = parse_ok("{'default': [{'type': 'insecureAcceptAnything'}]}");
	assert_int_equal(p->n_docker, 0);
	assert_scope(p, "quay.io/x/y:1", NULL);
	assert_int_equal(policy_requirements_check(lookup(p, "quay.io/x/y:1"), &need, &why), 0);
	assert_false(need);
	policy_free(p);
}

/* github.com/mskott/bootc-signed policy.json: a bootc image's policy, the
 * stock Fedora/RHEL GPG entries plus a sigstore key for the OS image. */
static void test_bootc_example(void **unused)
{
	(void) unused;
	struct policy *p = parse_ok("{'default': [{'type': 'insecureAcceptAnything'}],"
				    " 'transports': {"
				    "  'docker': {"
				    "   'registry.access.redhat.com': [{'type': 'signedBy', 'keyType': 'GPGKeys',"
				    "     'keyPaths': ['/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release', "
				    "'/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-beta']}],"
				    "   'registry.redhat.io': [{'type': 'signedBy', 'keyType': 'GPGKeys',"
				    "     'keyPaths': ['/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release', "
				    "'/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-beta']}],"
				    "   'quay.io/rh-ee-mskoett/bootc-signed': [{'type': 'sigstoreSigned', 'keyPath': "
				    "'/usr/local/etc/bootc-demo.pub'}]"
				    "  },"
				    "  'docker-daemon': {'': [{'type': 'insecureAcceptAnything'}]}"
				    " }"
				    "}");
	bool need;
	const char *why;
	const struct policy_requirements *reqs = lookup(p, "quay.io/rh-ee-mskoett/bootc-signed:latest");
	assert_string_equal(reqs->scope, "quay.io/rh-ee-mskoett/bootc-signed");
	assert_int_equal(policy_requirements_check(reqs, &need, &why), 0);
	assert_true(need);
	assert_string_equal(reqs->items[0].keys[0].path, "/usr/local/etc/bootc-demo.pub");
	/* GPG: the images of that scope are refused, with the reason; the
	 * rest of the file stands. */
	assert_int_equal(policy_requirements_check(lookup(p, "registry.redhat.io/rhel9/rhel-bootc:9.4"), &need, &why),
			 -EOPNOTSUPP);
	assert_non_null(strstr(why, "signedBy"));
	assert_int_equal(policy_requirements_check(lookup(p, "quay.io/kairos/ubuntu:24.04"), &need, &why), 0);
	assert_false(need);
	assert_int_equal(p->n_ignored_transports, 1);
	assert_string_equal(p->ignored_transports[0], "docker-daemon");
	policy_free(p);

	/* RHEL's "Verifying sigstore image signatures using a public key",
	 * with the placeholders filled. */
	p = parse_ok("{'default': [{'type': 'reject'}], 'transports': {'docker': {'registry.example.com/namespace': ["
		     "{'type': 'sigstoreSigned', 'keyPath': '/some/path/to/cosign.pub'}]}}}");
	assert_scope(p, "registry.example.com/namespace/image:1", "registry.example.com/namespace");
	policy_free(p);
}

#define PEM_B64                                                                                                        \
	"LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUZrd0V3WUhLb1pJemowQ0FRWUlLb1pJemowREFRY0RRZ0FFCi0tLS0tRU5EIFBVQkxJQyBL" \
	"R"                                                                                                            \
	"VktLS0tLQo="

static void test_keys_and_identities(void **unused)
{
	(void) unused;
	struct policy *p =
		parse_ok("{'default': [{'type': 'sigstoreSigned', 'keyData': '" PEM_B64 "'}],"
			 " 'transports': {'docker': {"
			 "  'localhost:5000/a': [{'type': 'sigstoreSigned', 'keyPaths': ['/k1.pub', '/k2.pub'],"
			 "     'signedIdentity': {'type': 'exactReference', 'dockerReference': 'quay.io/a/b:1'}}],"
			 "  'localhost:5000/b': [{'type': 'sigstoreSigned', 'keyDatas': ['" PEM_B64 "', '" PEM_B64 "'],"
			 "     'signedIdentity': {'type': 'exactRepository', 'dockerRepository': 'quay.io/a/b'}}],"
			 "  'localhost:5000/c': [{'type': 'sigstoreSigned', 'keyPath': '/k.pub',"
			 "     'signedIdentity': {'type': 'remapIdentity', 'prefix': 'localhost:5000', 'signedPrefix': "
			 "'quay.io/org'}},"
			 "     {'type': 'insecureAcceptAnything'}],"
			 "  'localhost:5000/d': [{'type': 'sigstoreSigned', 'keyPath': '/k.pub', 'signedIdentity': "
			 "{'type': 'matchExact'}}]"
			 " }}}");
	const struct policy_requirements *reqs = lookup(p, "quay.io/x:1");
	assert_null(reqs->scope);
	assert_int_equal(reqs->items[0].n_keys, 1);
	assert_null(reqs->items[0].keys[0].path);
	assert_true(reqs->items[0].keys[0].pem_size > 20);
	assert_memory_equal(reqs->items[0].keys[0].pem, "-----BEGIN PUBLIC KEY-----\n", 27);

	reqs = lookup(p, "localhost:5000/a:1");
	assert_int_equal(reqs->items[0].n_keys, 2);
	assert_string_equal(reqs->items[0].keys[1].path, "/k2.pub");
	assert_int_equal(reqs->items[0].signed_identity.type, IDENTITY_EXACT_REFERENCE);
	assert_true(identity_matches(&reqs->items[0].signed_identity, NULL, "quay.io/a/b:1"));
	assert_false(identity_matches(&reqs->items[0].signed_identity, NULL, "quay.io/a/b:2"));

	reqs = lookup(p, "localhost:5000/b:1");
	assert_int_equal(reqs->items[0].n_keys, 2);
	assert_true(identity_matches(&reqs->items[0].signed_identity, NULL, "quay.io/a/b"));

	/* A mirror: localhost:5000/c:1 must be signed as quay.io/org/c:1. */
	struct identity_ref image;
	assert_int_equal(identity_ref_from_parts("localhost:5000", "c", "1", NULL, &image), 0);
	reqs = policy_lookup_docker(p, &image);
	assert_int_equal(reqs->n_items, 2);
	assert_true(identity_matches(&reqs->items[0].signed_identity, &image, "quay.io/org/c:1"));
	assert_false(identity_matches(&reqs->items[0].signed_identity, &image, "localhost:5000/c:1"));
	assert_int_equal(lookup(p, "localhost:5000/d:1")->items[0].signed_identity.type, IDENTITY_MATCH_EXACT);
	policy_free(p);

	/* Keyless, Rekor, signedBaseLayer: parsed, then refuse their images. */
	p = parse_ok(
		"{'default': [{'type': 'reject'}], 'transports': {'docker': {"
		" 'a.example/x': [{'type': 'sigstoreSigned', 'fulcio': {'caPath': '/ca.pem', 'oidcIssuer': 'https://o',"
		"   'subjectEmail': 'me@example.com'}, 'rekorPublicKeyPath': '/rekor.pub'}],"
		" 'a.example/y': [{'type': 'sigstoreSigned', 'keyPath': '/k.pub', 'rekorPublicKeyData': 'eA=='}],"
		" 'a.example/z': [{'type': 'signedBaseLayer', 'baseLayerIdentity': {'type': 'matchRepository'}}]"
		"}}}");
	bool need;
	const char *why;
	assert_int_equal(policy_requirements_check(lookup(p, "a.example/x:1"), &need, &why), -EOPNOTSUPP);
	assert_non_null(strstr(why, "keyless"));
	assert_int_equal(policy_requirements_check(lookup(p, "a.example/y:1"), &need, &why), -EOPNOTSUPP);
	assert_int_equal(policy_requirements_check(lookup(p, "a.example/z:1"), &need, &why), -EOPNOTSUPP);
	policy_free(p);

	/* Empty transports, an empty docker transport: nothing but the default. */
	p = parse_ok("{'default': [{'type': 'reject'}], 'transports': {}}");
	assert_scope(p, "quay.io/a:1", NULL);
	policy_free(p);
	p = parse_ok("{'default': [{'type': 'reject'}], 'transports': {'docker': {}}}");
	assert_scope(p, "quay.io/a:1", NULL);
	policy_free(p);
}

/* The most specific scope wins, as containers/image searches them. */
static void test_lookup_order(void **unused)
{
	(void) unused;
	static const char *const scopes[] = {
		"",
		"*.com",
		"*.example.com",
		"r.example.com",
		"r.example.com:5000",
		"r.example.com/ns",
		"r.example.com/ns/sub",
		"r.example.com/ns/sub/repo",
		"r.example.com/ns/sub/repo:tag",
		"r.example.com/ns/sub/repo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	char text[4096] = "{'default': [{'type': 'reject'}], 'transports': {'docker': {";
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "%s'%s': [{'type': 'insecureAcceptAnything'}]", i ? ", " : "", scopes[i]);
	strcat(text, "}}}");
	struct policy *p = parse_ok(text);
#define D "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	assert_scope(p, "r.example.com/ns/sub/repo" D, "r.example.com/ns/sub/repo" D);
	assert_scope(p, "r.example.com/ns/sub/repo:tag" D, "r.example.com/ns/sub/repo" D);
	assert_scope(p, "r.example.com/ns/sub/repo:tag", "r.example.com/ns/sub/repo:tag");
	assert_scope(p, "r.example.com/ns/sub/repo:other", "r.example.com/ns/sub/repo");
	assert_scope(p, "r.example.com/ns/sub/other:1", "r.example.com/ns/sub");
	assert_scope(p, "r.example.com/ns/subx/a:1", "r.example.com/ns");
	assert_scope(p, "r.example.com/nsx/a:1", "r.example.com");
	assert_scope(p, "r.example.com:5000/nsx/a:1", "r.example.com:5000");
	assert_scope(p, "r.example.com:5001/nsx/a:1", "*.example.com");
	assert_scope(p, "q.example.com/a:1", "*.example.com");
	assert_scope(p, "example.com/a:1", "*.com");
	assert_scope(p, "localhost:5000/a:1", "");
	assert_scope(p, "busybox:1", "");
#undef D
	policy_free(p);
}

static void test_refused(void **unused)
{
	(void) unused;
	static const struct {
		const char *json;
		int r;
		const char *message;
	} cases[] = {
		/* Not JSON, or not the shape. */
		{ "", -EBADMSG, "$: not valid JSON" },
		{ "{'default': [{'type': 'reject'}]} x", -EBADMSG, "not valid JSON" },
		{ "[]", -EBADMSG, "$: an array, not an object" },
		{ "{}", -EBADMSG, "$: \"default\" is missing" },
		{ "{'default': null}", -EBADMSG, "$.default: null, not an array" },
		{ "{'default': {'type': 'reject'}}", -EBADMSG, "$.default: an object, not an array" },
		{ "{'default': []}", -EBADMSG, "$.default: empty" },
		{ "{'default': ['reject']}", -EBADMSG, "$.default[0]: a string, not an object" },
		{ "{'default': [{'type': 1}]}", -EBADMSG, "$.default[0].type: a number, not a string" },
		{ "{'default': [{}]}", -EBADMSG, "$.default[0]: \"type\" is missing" },
		{ "{'default': [{'type': 'reject'}], 'transports': []}", -EBADMSG, "$.transports: an array" },
		{ "{'default': [{'type': 'reject'}], 'transports': null}", -EBADMSG, "$.transports: null" },
		{ "{'default': [{'type': 'reject'}], 'transports': {'docker': []}}", -EBADMSG,
		  "$.transports.docker: an array, not an object of scopes" },
		{ "{'default': [{'type': 'reject'}], 'transports': {'docker': {'quay.io': []}}}", -EBADMSG,
		  "$.transports.docker[\"quay.io\"]: empty" },
		{ "{'default': [{'type': 'reject'}], 'transports': {'dir': {'': []}}}", -EBADMSG,
		  "$.transports.dir[\"\"]: empty" },
		{ "{'default': [{'type': 'reject', 'x': 1}]}", -EBADMSG, "$.default[0].x: unknown field" },
		{ "{'default': [{'type': 'reject'}], 'Default': []}", -EBADMSG, "$.Default: unknown field" },
		{ "{'default': [{'type': 'rejectt'}]}", -EBADMSG, "unknown requirement type \"rejectt\"" },
		{ "{'default': [{'type': 'Reject'}]}", -EBADMSG, "unknown requirement type" },
		/* Duplicate keys, anywhere. */
		{ "{'default': [{'type': 'insecureAcceptAnything'}], 'default': [{'type': 'reject'}]}", -EBADMSG,
		  "duplicate" },
		{ "{'default': [{'type': 'reject', 'type': 'insecureAcceptAnything'}]}", -EBADMSG, "duplicate" },
		{ "{'default': [{'type': 'reject'}], 'transports': {'docker': {'quay.io': [{'type': 'reject'}],"
		  " 'quay.io': [{'type': 'insecureAcceptAnything'}]}}}",
		  -EBADMSG, "duplicate" },
		/* sigstoreSigned's keys. */
		{ "{'default': [{'type': 'sigstoreSigned'}]}", -EBADMSG, "$.default[0]: none of keyPath" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'keyData': '" PEM_B64 "'}]}", -EBADMSG,
		  "more than one of keyPath" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'keyPaths': ['/b']}]}", -EBADMSG,
		  "more than one of keyPath" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': 'cosign.pub'}]}", -EBADMSG,
		  "$.default[0].keyPath: not an absolute path" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': ['/a']}]}", -EBADMSG,
		  "keyPath: an array, not a string" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPaths': '/a'}]}", -EBADMSG,
		  "keyPaths: a string, not an array" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPaths': []}]}", -EBADMSG, "keyPaths: empty" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPaths': ['/a', 2]}]}", -EBADMSG,
		  "keyPaths[1]: a number, not a string" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPth': '/a'}]}", -EBADMSG,
		  "$.default[0].keyPth: unknown field" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyData': '!!!!'}]}", -EBADMSG,
		  "keyData: not valid base64" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyData': 'bm90IGEgcGVt'}]}", -EBADMSG,
		  "keyData: not a base64-encoded PEM public key" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyData': 'bm90IGEgcGV'}]}", -EBADMSG, "not valid base64" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyData': 'YQ==YQ=='}]}", -EBADMSG, "not valid base64" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyData': 'Y==='}]}", -EBADMSG, "not valid base64" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyData': ''}]}", -EBADMSG, "not valid base64" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyDatas': ['" PEM_B64 "', 'x']}]}", -EBADMSG,
		  "keyDatas[1]: not valid base64" },
		/* Keyless mixed with a key, malformed keyless fields. */
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'fulcio': {}}]}", -EBADMSG,
		  "a public key and a certificate authority" },
		{ "{'default': [{'type': 'sigstoreSigned', 'fulcio': 'x'}]}", -EBADMSG,
		  "fulcio: a string, not an object" },
		{ "{'default': [{'type': 'sigstoreSigned', 'fulcio': {}, 'pki': {}}]}", -EBADMSG,
		  "both fulcio and pki" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'rekorPublicKeyPaths': '/r'}]}", -EBADMSG,
		  "rekorPublicKeyPaths: a string, not an array" },
		/* signedBy: its shape is still checked. */
		{ "{'default': [{'type': 'signedBy', 'keyType': 'PGP', 'keyPath': '/a'}]}", -EBADMSG,
		  "unknown keyType \"PGP\"" },
		{ "{'default': [{'type': 'signedBy', 'keyPath': '/a'}]}", -EBADMSG, "\"keyType\" is missing" },
		{ "{'default': [{'type': 'signedBy', 'keyType': 'GPGKeys'}]}", -EBADMSG, "exactly one of keyPath" },
		/* signedIdentity. */
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'signedIdentity': 'matchExact'}]}",
		  -EBADMSG, "$.default[0].signedIdentity: a string, not an object" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'signedIdentity': {}}]}", -EBADMSG,
		  "signedIdentity: \"type\" is missing" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'signedIdentity': {'type': "
		  "'matchAnything'}}]}",
		  -EBADMSG, "unknown signedIdentity type \"matchAnything\"" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'signedIdentity': {'type': 'matchExact', "
		  "'x': 1}}]}",
		  -EBADMSG, "signedIdentity.x: unknown field" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'signedIdentity': {'type': "
		  "'exactReference',"
		  " 'dockerReference': 'quay.io/a/b'}}]}",
		  -EBADMSG, "dockerReference is not a reference with a tag or digest" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'signedIdentity': {'type': "
		  "'exactRepository'}}]}",
		  -EBADMSG, "\"dockerRepository\" is missing" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'signedIdentity': {'type': 'remapIdentity',"
		  " 'prefix': 'quay.io/a:tag', 'signedPrefix': 'quay.io'}}]}",
		  -EBADMSG, "prefix is not host[:port]" },
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a', 'signedIdentity': {'type': 'remapIdentity',"
		  " 'prefix': 'quay.io'}}]}",
		  -EBADMSG, "\"signedPrefix\" is missing" },
		/* Scopes that would never match. */
		{ "{'default': [{'type': 'reject'}], 'transports': {'docker': {'busybox': [{'type': 'reject'}]}}}",
		  -EBADMSG, "$.transports.docker.busybox: not a scope" },
		{ "{'default': [{'type': 'reject'}], 'transports': {'docker': {'Quay.io/Org': [{'type': 'reject'}]}}}",
		  -EBADMSG, "not a scope" },
		{ "{'default': [{'type': 'reject'}], 'transports': {'docker': {'https://quay.io': [{'type': "
		  "'reject'}]}}}",
		  -EBADMSG, "not a scope" },
		{ "{'default': [{'type': 'reject'}], 'transports': {'docker': {'quay.io/': [{'type': 'reject'}]}}}",
		  -EBADMSG, "not a scope" },
		/* A NUL inside a string. */
		{ "{'default': [{'type': 'sigstoreSigned', 'keyPath': '/a\\u0000b'}]}", -EBADMSG, "not valid JSON" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_refused(cases[i].json, cases[i].r, cases[i].message);
}

/* Sizes, depth and counts: each bound refuses before the work. */
static void test_bounds(void **unused)
{
	(void) unused;
	struct policy *p = NULL;
	struct policy_error e;

	/* Over 1 MiB, even of valid JSON (whitespace). */
	size_t big = POLICY_SIZE_MAX + 1;
	char *s = malloc(big + 64);
	assert_non_null(s);
	strcpy(s, "{\"default\": [{\"type\": \"reject\"}]");
	size_t n = strlen(s);
	memset(s + n, ' ', big - n - 1);
	s[big - 1] = '}';
	assert_int_equal(policy_parse(s, big, "big.json", &p, &e), -E2BIG);
	assert_non_null(strstr(e.message, "over the limit"));

	/* 100000 levels of nesting: refused before jansson recurses. */
	size_t depth = 100000;
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	assert_int_equal(policy_parse(s, 2 * depth, "deep.json", &p, &e), -E2BIG);
	assert_non_null(strstr(e.message, "nested deeper"));
	/* 17 levels inside a string are only text; 17 real ones are not. */
	const char *in_string = "{\"default\": [{\"type\": \"reject\"}], \"x\": \"[[[[[[[[[[[[[[[[[[[[\"}";
	assert_int_equal(policy_parse(in_string, strlen(in_string), "s.json", &p, &e), -EBADMSG);
	assert_non_null(strstr(e.message, "$.x: unknown field"));

	/* 65 requirements in one list. */
	strcpy(s, "{\"default\": [");
	for (int i = 0; i < POLICY_REQUIREMENTS_MAX + 1; i++)
		strcat(s, i ? ",{\"type\":\"reject\"}" : "{\"type\":\"reject\"}");
	strcat(s, "]}");
	assert_int_equal(policy_parse(s, strlen(s), "many.json", &p, &e), -E2BIG);
	assert_non_null(strstr(e.message, "$.default: more than 64 requirements"));

	/* 65 keys. */
	strcpy(s, "{\"default\": [{\"type\":\"sigstoreSigned\",\"keyPaths\":[");
	for (int i = 0; i < POLICY_KEYS_MAX + 1; i++)
		strcat(s, i ? ",\"/k\"" : "\"/k\"");
	strcat(s, "]}]}");
	assert_int_equal(policy_parse(s, strlen(s), "keys.json", &p, &e), -E2BIG);

	/* 4097 scopes. */
	strcpy(s, "{\"default\": [{\"type\":\"reject\"}], \"transports\": {\"docker\": {");
	for (int i = 0; i < POLICY_SCOPES_MAX + 1; i++)
		sprintf(s + strlen(s), "%s\"r%d.example\":[{\"type\":\"reject\"}]", i ? "," : "", i);
	strcat(s, "}}}");
	assert_int_equal(policy_parse(s, strlen(s), "scopes.json", &p, &e), -E2BIG);
	assert_non_null(strstr(e.message, "more than 4096 scopes"));

	/* 65 transports. */
	strcpy(s, "{\"default\": [{\"type\":\"reject\"}], \"transports\": {");
	for (int i = 0; i < POLICY_TRANSPORTS_MAX + 1; i++)
		sprintf(s + strlen(s), "%s\"t%d\":{}", i ? "," : "", i);
	strcat(s, "}}");
	assert_int_equal(policy_parse(s, strlen(s), "transports.json", &p, &e), -E2BIG);
	assert_non_null(strstr(e.message, "$.transports: more than 64 transports"));

	/* A keyData over 64 KiB once decoded. */
	strcpy(s, "{\"default\": [{\"type\":\"sigstoreSigned\",\"keyData\":\"");
	n = strlen(s);
	memset(s + n, 'A', 100000);
	strcpy(s + n + 100000, "\"}]}");
	assert_int_equal(policy_parse(s, strlen(s), "key.json", &p, &e), -E2BIG);
	free(s);

	/* Long and hostile names in the path are shown cut and sanitized. */
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"default\": [{\"type\":\"reject\"}], \"transports\": {\"docker\": {\"\\u001b[31m%0300d\": []}}}",
		 7);
	assert_int_equal(policy_parse(text, strlen(text), "esc.json", &p, &e), -EBADMSG);
	assert_null(strchr(e.message, '\x1b'));
	assert_true(strlen(e.message) < sizeof(e.message));
}

static void test_load(void **unused)
{
	(void) unused;
	char dir[] = "/tmp/test_policy.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	struct policy *p = NULL;
	struct policy_error e;

	snprintf(path, sizeof(path), "%s/missing.json", dir);
	assert_int_equal(policy_load(path, &p, &e), -ENOENT);
	assert_int_equal(policy_load(dir, &p, &e), -EBADMSG);
	assert_non_null(strstr(e.message, "not a regular file"));

	snprintf(path, sizeof(path), "%s/policy.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"default\": [{\"type\": \"reject\"}]}", f);
	fclose(f);
	assert_int_equal(policy_load(path, &p, &e), 0);
	assert_string_equal(p->file, path);
	p = policy_free(p);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"rel.pub\"}]}", f);
	fclose(f);
	assert_int_equal(policy_load(path, &p, &e), -EBADMSG);
	assert_non_null(strstr(e.message, path));
	assert_non_null(strstr(e.message, "$.default[0].keyPath: not an absolute path"));

	assert_int_equal(truncate(path, POLICY_SIZE_MAX + 1), 0);
	assert_int_equal(policy_load(path, &p, &e), -E2BIG);
	assert_null(p);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page_example),
		cmocka_unit_test(test_bootc_example),
		cmocka_unit_test(test_keys_and_identities),
		cmocka_unit_test(test_lookup_order),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
