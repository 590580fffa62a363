/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"
#include "util.h"

static void test_bearer(void **state)
{
	(void) state;
	struct auth_challenge c;
	assert_int_equal(
		auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
				     "scope=\"repository:library/debian:pull\"",
				     &c),
		0);
	assert_int_equal(c.scheme, AUTH_SCHEME_BEARER);
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/debian:pull");
	auth_challenge_done(&c);

	/* Case, spacing, unquoted values, escapes, unknown parameters. */
	assert_int_equal(auth_challenge_parse("bearer  Realm = https://h/t , error=\"insufficient_scope\", "
					      "scope=\"a\\\"b\"",
					      &c),
			 0);
	assert_string_equal(c.realm, "https://h/t");
	assert_null(c.service);
	assert_string_equal(c.scope, "a\"b");
	auth_challenge_done(&c);

	/* Several challenges: Bearer is preferred. */
	assert_int_equal(auth_challenge_parse("Basic realm=\"x\", Bearer realm=\"https://t\"", &c), 0);
	assert_int_equal(c.scheme, AUTH_SCHEME_BEARER);
	assert_string_equal(c.realm, "https://t");
	auth_challenge_done(&c);
}

static void test_basic_and_bad(void **state)
{
	(void) state;
	struct auth_challenge c;
	assert_int_equal(auth_challenge_parse("Basic realm=\"Registry Realm\"", &c), 0);
	assert_int_equal(c.scheme, AUTH_SCHEME_BASIC);
	auth_challenge_done(&c);

	assert_int_equal(auth_challenge_parse("Negotiate", &c), -EPROTONOSUPPORT);
	assert_int_equal(auth_challenge_parse("", &c), -EPROTONOSUPPORT);
	assert_int_equal(auth_challenge_parse("Bearer service=\"x\"", &c), -EBADMSG);
	assert_int_equal(auth_challenge_parse("Bearer realm=\"unterminated", &c), -EBADMSG);
	assert_int_equal(auth_challenge_parse("Bearer realm=\"a\",realm=\"b\"", &c), -EBADMSG);
	assert_int_equal(auth_challenge_parse("Bearer realm=", &c), -EBADMSG);
}

static void test_token(void **state)
{
	(void) state;
	char *token = NULL;
	long expires = 0;
	const char *a = "{\"token\":\"abc\",\"expires_in\":300}";
	assert_int_equal(auth_token_parse(a, strlen(a), &token, &expires), 0);
	assert_string_equal(token, "abc");
	assert_int_equal(expires, 300);
	free(token);

	const char *b = "{\"access_token\":\"xyz\"}";
	assert_int_equal(auth_token_parse(b, strlen(b), &token, &expires), 0);
	assert_string_equal(token, "xyz");
	assert_int_equal(expires, 60);
	free(token);

	static const char *const bad[] = { "{}",
					   "[]",
					   "{\"token\":\"\"}",
					   "{\"token\":\"a\\nb\"}",
					   "{\"token\":1}",
					   "nope",
					   "{\"token\":\"a\",\"token\":\"b\"}" };
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(auth_token_parse(bad[i], strlen(bad[i]), &token, &expires), -EBADMSG);
}

static void test_config(void **state)
{
	(void) state;
	/* "dXNlcjpwYTpzcw==" is "user:pa:ss". */
	const char *cfg = "{\"auths\":{"
			  "\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpwYTpzcw==\"},"
			  "\"localhost:5000\":{\"username\":\"u\",\"password\":\"p\"},"
			  "\"https://quay.io\":{\"auth\":\"dXNlcjpwYTpzcw==\"},"
			  "\"bad.io\":{\"auth\":\"!!!\"}}}";
	struct credentials c;
	assert_int_equal(auth_config_lookup(cfg, strlen(cfg), "docker.io", &c), 0);
	assert_string_equal(c.username, "user");
	assert_string_equal(c.password, "pa:ss");
	credentials_done(&c);

	assert_int_equal(auth_config_lookup(cfg, strlen(cfg), "localhost:5000", &c), 0);
	assert_string_equal(c.username, "u");
	assert_string_equal(c.password, "p");
	credentials_done(&c);

	assert_int_equal(auth_config_lookup(cfg, strlen(cfg), "quay.io", &c), 0);
	credentials_done(&c);

	assert_int_equal(auth_config_lookup(cfg, strlen(cfg), "localhost", &c), -ENOENT);
	assert_int_equal(auth_config_lookup(cfg, strlen(cfg), "quay.io.evil", &c), -ENOENT);
	assert_int_equal(auth_config_lookup(cfg, strlen(cfg), "bad.io", &c), -EBADMSG);
	assert_int_equal(auth_config_lookup("{}", 2, "docker.io", &c), -ENOENT);
	assert_int_equal(auth_config_lookup("{", 1, "docker.io", &c), -EBADMSG);
}

static void test_helpers(void **state)
{
	(void) state;
	const char *a = "{\"credHelpers\":{\"quay.io\":\"secretservice\"}}";
	assert_true(auth_config_uses_helper(a, strlen(a), "quay.io"));
	assert_false(auth_config_uses_helper(a, strlen(a), "docker.io"));
	const char *b = "{\"credsStore\":\"desktop\"}";
	assert_true(auth_config_uses_helper(b, strlen(b), "docker.io"));
	assert_false(auth_config_uses_helper("{", 1, "docker.io"));
}

static void test_creds_string(void **state)
{
	(void) state;
	struct credentials c;
	assert_int_equal(credentials_from_string("a:b:c", &c), 0);
	assert_string_equal(c.username, "a");
	assert_string_equal(c.password, "b:c");
	credentials_done(&c);
	assert_int_equal(credentials_from_string("nocolon", &c), -EINVAL);
	assert_int_equal(credentials_from_string(":p", &c), -EINVAL);
}

static void test_origins(void **state)
{
	(void) state;
	char *o = auth_url_origin("HTTPS://Registry.Example:443/v2/x?y#z");
	assert_string_equal(o, "https://registry.example:443");
	free(o);
	o = auth_url_origin("http://127.0.0.1/token");
	assert_string_equal(o, "http://127.0.0.1:80");
	free(o);
	assert_null(auth_url_origin("registry.example/v2/"));
	assert_null(auth_url_origin("ftp://registry.example/"));
	assert_null(auth_url_origin(""));
	assert_null(auth_url_origin(NULL));

	/* Same origin: the default port spelled or not, case, another path. */
	assert_true(auth_same_origin("https://r.example/v2/", "https://R.EXAMPLE:443/v2/a/blobs/x"));
	assert_true(auth_same_origin("http://127.0.0.1:5000", "http://127.0.0.1:5000/v2/"));
	/* Another host, port or scheme is another origin: a redirect there
	 * gets no credentials, and its challenges no answer. */
	assert_false(auth_same_origin("http://127.0.0.1:5000", "http://127.0.0.2:5000/cdn/x"));
	assert_false(auth_same_origin("http://127.0.0.1:5000", "http://127.0.0.1:5001/"));
	assert_false(auth_same_origin("https://r.example", "http://r.example:443/"));
	assert_false(auth_same_origin("https://r.example", "https://r.example.evil/"));
	assert_false(auth_same_origin("https://r.example", "https://r.example@evil/"));
	assert_false(auth_same_origin("https://r.example", NULL));
	assert_false(auth_same_origin(NULL, NULL));
}

static void test_realm_check(void **state)
{
	(void) state;
	/* A realm on another host is fine when the registry names it. */
	assert_int_equal(auth_realm_check("https://registry-1.docker.io", "https://auth.docker.io/token"), 0);
	assert_int_equal(auth_realm_check("http://127.0.0.1:5000", "http://127.0.0.3:8080/token"), 0);
	assert_int_equal(auth_realm_check("http://127.0.0.1:5000", "https://127.0.0.3/token"), 0);
	/* A registry reached over TLS never sends credentials in clear text,
	 * --insecure or not. */
	assert_int_equal(auth_realm_check("https://r.example", "http://r.example/token"), -EPROTO);
	assert_int_equal(auth_realm_check("https://r.example", "ftp://r.example/token"), -EINVAL);
	assert_int_equal(auth_realm_check("https://r.example", "/token"), -EINVAL);
	assert_int_equal(auth_realm_check("https://r.example", "token.example/x"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),  cmocka_unit_test(test_basic_and_bad), cmocka_unit_test(test_token),
		cmocka_unit_test(test_config),  cmocka_unit_test(test_creds_string),  cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_origins), cmocka_unit_test(test_realm_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
