/* SPDX-License-Identifier: Apache-2.0 */
/* Upgrade hooks run in name order, see their environment, and the first
 * failure stops the phase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "durable.h"
#include "hooks.h"
#include "util.h"

static char dir[] = "/tmp/test-hooks-XXXXXX";

static void hook(const char *name, const char *body, mode_t mode)
{
	char path[512], text[512];
	snprintf(path, sizeof(path), "%s/before-upgrade.d/%s", dir, name);
	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	assert_int_equal(write_file_atomic(path, text, strlen(text), mode), 0);
}

static void read_log(char *buf, size_t size)
{
	char path[512];
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/log", dir);
	assert_int_equal(read_file_bounded(path, buf, size - 1, &len), 0);
	buf[len] = '\0';
}

static void test_hooks(void **unused)
{
	(void) unused;
	assert_non_null(mkdtemp(dir));
	char sub[256], log_line[256], buf[1024];
	snprintf(sub, sizeof(sub), "%s/before-upgrade.d", dir);
	assert_int_equal(mkdir(sub, 0755), 0);

	/* No after-upgrade.d at all: nothing to run, not an error. */
	assert_int_equal(hooks_run(dir, "after-upgrade", NULL), 0);

	snprintf(log_line, sizeof(log_line), "echo \"$0 $KAIROS_TEST\" >> %s/log", dir);
	hook("20-second", log_line, 0755);
	hook("10-first", log_line, 0755);
	hook("15-disabled", "exit 1", 0644); /* not executable: skipped */
	char *env[] = { "KAIROS_TEST=hello", NULL };
	assert_int_equal(hooks_run(dir, "before-upgrade", env), 0);
	read_log(buf, sizeof(buf));
	char want[2048];
	snprintf(want, sizeof(want), "%s/10-first hello\n%s/20-second hello\n", sub, sub);
	assert_string_equal(buf, want);

	hook("12-fails", "exit 3", 0755);
	assert_int_equal(hooks_run(dir, "before-upgrade", env), -ECANCELED);
	read_log(buf, sizeof(buf));
	/* 20-second did not run again after the failure. */
	snprintf(want, sizeof(want), "%s/10-first hello\n%s/20-second hello\n%s/10-first hello\n", sub, sub, sub);
	assert_string_equal(buf, want);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hooks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
