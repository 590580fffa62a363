/* SPDX-License-Identifier: Apache-2.0 */
/* lib/keyvalue: the reader of boot.conf and kairos.conf, including what a
 * damaged or hostile file holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyvalue.h"
#include "util.h"

#define CALLS_MAX 16

/* What the callback was given, copied. */
struct calls {
	char *key[CALLS_MAX], *value[CALLS_MAX];
	size_t n;
};

static void record(const char *key, const char *value, void *userdata)
{
	struct calls *c = userdata;
	assert_true(c->n < CALLS_MAX);
	c->key[c->n] = strdup(key);
	c->value[c->n] = value ? strdup(value) : NULL;
	assert_non_null(c->key[c->n]);
	c->n++;
}

static void calls_done(struct calls *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->key[i]);
		free(c->value[i]);
	}
	*c = (struct calls){ 0 };
}

/* Parse text and check the calls against want (key, value pairs; a NULL
 * value is a line without '='). */
static void check(const char *text, const char *const want[][2], size_t n_want)
{
	struct calls c = { 0 };
	assert_int_equal(keyvalue_parse(text, record, &c), 0);
	assert_int_equal(c.n, n_want);
	for (size_t i = 0; i < n_want; i++) {
		assert_string_equal(c.key[i], want[i][0]);
		if (want[i][1])
			assert_string_equal(c.value[i], want[i][1]);
		else
			assert_null(c.value[i]);
	}
	calls_done(&c);
}

static void test_lines(void **unused)
{
	(void) unused;
	check("", NULL, 0);
	check("\n\n\t \n", NULL, 0);
	check("# comment\n   # indented comment\n", NULL, 0);

	static const char *const want[][2] = {
		{ "a", "1" },  { "b", "2" }, { "junk line", NULL },        { "", "x" },
		{ "d", "=e" }, { "f", "" },  { "g", "h # not a comment" },
	};
	check("# c\n\n  a = 1 \t\nb=2\n junk line \n=x\nd==e\nf=\ng=h # not a comment\n", want, ELEMENTSOF(want));
}

static void test_hostile(void **unused)
{
	(void) unused;
	/* No newline at the end. */
	static const char *const last[][2] = { { "a", "1" }, { "k", "v" } };
	check("a=1\nk=v", last, ELEMENTSOF(last));
	static const char *const bare[][2] = { { "k", NULL } };
	check("k", bare, ELEMENTSOF(bare));

	/* CRLF: the \r goes with the trailing blanks; a line of just \r is blank. */
	static const char *const crlf[][2] = { { "a", "1" }, { "b", "2" }, { "c", NULL } };
	check("a=1\r\nb = 2 \r\n\r\n#x\r\nc\r\n", crlf, ELEMENTSOF(crlf));

	/* A NUL ends the text (the callers read C strings). */
	static const char nul[] = "a=1\nb=2\0c=3\n";
	static const char *const before_nul[][2] = { { "a", "1" }, { "b", "2" } };
	check(nul, before_nul, ELEMENTSOF(before_nul));

	/* Control bytes and high bytes are the value's business, passed as they are. */
	static const char *const bytes[][2] = { { "k\x1b", "\x7f\xff\x01" } };
	check("k\x1b=\x7f\xff\x01\n", bytes, ELEMENTSOF(bytes));

	/* Very long lines: whole, whatever their length. */
	size_t long_len = 1 << 20;
	char *text = malloc(long_len + 16);
	assert_non_null(text);
	memcpy(text, "key=", 4);
	memset(text + 4, 'v', long_len);
	strcpy(text + 4 + long_len, "\nnext");
	struct calls c = { 0 };
	assert_int_equal(keyvalue_parse(text, record, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.key[0], "key");
	assert_int_equal(strlen(c.value[0]), long_len);
	assert_string_equal(c.key[1], "next");
	assert_null(c.value[1]);
	calls_done(&c);
	memset(text, '=', long_len);
	text[long_len] = '\0';
	assert_int_equal(keyvalue_parse(text, record, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.key[0], "");
	assert_int_equal(strlen(c.value[0]), long_len - 1);
	calls_done(&c);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
