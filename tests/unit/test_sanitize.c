/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "sanitize.h"
#include "util.h"

static void assert_sanitized(const char *in, const char *want)
{
	char *got = sanitize_strdup(in);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(sanitize_to(NULL, 0, in), strlen(want));
	free(got);
}

/* No byte a terminal acts on: C0, DEL, C1 as bytes, or as UTF-8 C2 80..C2 9F. */
static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f ||
		    (*p >= 0x80 && *p <= 0x9f && (p == (const unsigned char *) s || p[-1] == 0xc2)))
			return false;
	return true;
}

static void test_controls(void **state)
{
	(void) state;
	assert_sanitized("", "");
	assert_sanitized("usr/bin/ls", "usr/bin/ls");
	/* An entry name that would clear the screen and rewrite the line. */
	assert_sanitized("etc/\x1b[2Jevil\r\x07x", "etc/\\x1b[2Jevil\\x0d\\x07x");
	assert_sanitized("a\nb\tc\x7f", "a\\x0ab\\x09c\\x7f");
	/* C1: CSI as a lone byte (invalid UTF-8) and as U+009B. */
	assert_sanitized("\x9b"
			 "31m",
			 "\\x9b31m");
	assert_sanitized("\xc2\x9b"
			 "31m",
			 "\\u009b31m");
	assert_sanitized("\xc2\x85", "\\u0085");
	/* Bidirectional overrides and line separators reorder what is shown. */
	assert_sanitized("a\xe2\x80\xae"
			 "cba",
			 "a\\u202ecba");
	assert_sanitized("\xe2\x80\xa8\xe2\x81\xa6", "\\u2028\\u2066");
	/* Invisible ones: zero-width space and joiner, soft hyphen, BOM, a tag. */
	assert_sanitized("a\xe2\x80\x8b\xe2\x80\x8d\xc2\xad\xef\xbb\xbf\xf3\xa0\x80\x81z",
			 "a\\u200b\\u200d\\u00ad\\ufeff\\U000e0001z");
}

static void test_utf8(void **state)
{
	(void) state;
	/* Valid UTF-8 is kept. */
	assert_sanitized("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7");
	assert_sanitized("\xc2\xa0", "\xc2\xa0");
	/* Invalid: each byte shown. */
	assert_sanitized("\xff\xfe", "\\xff\\xfe");
	assert_sanitized("\xc3", "\\xc3");                            /* cut short at the end */
	assert_sanitized("\xc3(", "\\xc3(");                          /* not a continuation */
	assert_sanitized("\xc0\x9b", "\\xc0\\x9b");                   /* overlong ESC-like */
	assert_sanitized("\xe0\x80\x9b", "\\xe0\\x80\\x9b");          /* overlong */
	assert_sanitized("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* surrogate */
	assert_sanitized("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
	assert_sanitized("\x80x", "\\x80x");
}

static void test_cut(void **state)
{
	(void) state;
	char buf[8];
	/* The whole form needs 8 bytes: cut before the escape, never inside it. */
	assert_int_equal(sanitize_to(buf, sizeof(buf), "abcd\x1b"), 8);
	assert_string_equal(buf, "abcd");
	assert_int_equal(sanitize_to(buf, sizeof(buf),
				     "abc\xe2\x82\xac"
				     "d"),
			 7);
	assert_string_equal(buf, "abc\xe2\x82\xac"
				 "d");
	assert_int_equal(sanitize_to(buf, 6, "abc\xe2\x82\xac"), 6);
	assert_string_equal(buf, "abc");
	assert_int_equal(sanitize_to(buf, 1, "abc"), 3);
	assert_string_equal(buf, "");
	assert_null(sanitize_strdup(NULL));
}

static void test_json(void **state)
{
	(void) state;
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	assert_non_null(f);
	sanitize_json_string(f, "a\"b\\c\x1b\xc2\x9b\xff\xc3\xa9");
	fputc(' ', f);
	sanitize_json_string(f, NULL);
	fclose(f);
	assert_string_equal(text, "\"a\\\"b\\\\c\\\\x1b\\\\u009b\\\\xff\xc3\xa9\" null");
	assert_true(printable(text));
	free(text);
}

/* Every log line is in its printable form, whatever its arguments. */
static void test_log(void **state)
{
	(void) state;
	char path[] = "/tmp/kairos-test-sanitize.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	log_error("Layer entry %s refused", "\x1b]0;owned\x07\r\x9b\xc2\x9b\xff");
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	char buf[512] = "";
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "Layer entry \\x1b]0;owned\\x07\\x0d\\x9b\\u009b\\xff refused\n"));
	buf[n - 1] = '\0'; /* the line's own newline */
	assert_true(printable(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls), cmocka_unit_test(test_utf8), cmocka_unit_test(test_cut),
		cmocka_unit_test(test_json),     cmocka_unit_test(test_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
