/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "pid1.h"

static const char dep[] =
	"kernel/fs/squashfs/squashfs.ko.xz:\n"
	"kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
	"kernel/drivers/block/virtio_blk.ko:\tkernel/drivers/virtio/virtio.ko  kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/fs/nls/nls-cp437.ko.zst:";

static void expect(const char *name, size_t n, const char *const *want)
{
	char **paths = NULL;
	size_t got = 0;
	assert_int_equal(modules_dep_resolve(dep, name, &paths, &got), 0);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(paths[i], want[i]);
	strv_free_n(paths, got);
}

static void test_dependencies_first(void **unused)
{
	(void) unused;
	/* modules.dep lists the deepest dependency last: load it first. */
	expect("ext4", 4,
	       (const char *const[]){ "kernel/fs/jbd2/jbd2.ko", "kernel/fs/mbcache.ko", "kernel/lib/crc16.ko",
				      "kernel/fs/ext4/ext4.ko" });
	expect("virtio_blk", 3,
	       (const char *const[]){ "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
				      "kernel/drivers/block/virtio_blk.ko" });
	expect("squashfs", 1, (const char *const[]){ "kernel/fs/squashfs/squashfs.ko.xz" });
}

static void test_names(void **unused)
{
	(void) unused;
	/* '-' and '_' are the same in module names; the last line has no newline. */
	expect("nls_cp437", 1, (const char *const[]){ "kernel/fs/nls/nls-cp437.ko.zst" });
	expect("virtio-blk", 3,
	       (const char *const[]){ "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
				      "kernel/drivers/block/virtio_blk.ko" });
	char **paths = NULL;
	size_t n = 0;
	assert_int_equal(modules_dep_resolve(dep, "ext", &paths, &n), -ENOENT);
	/* Named only as a dependency: a line is needed to resolve it. */
	assert_int_equal(modules_dep_resolve(dep, "virtio", &paths, &n), -ENOENT);
	assert_int_equal(modules_dep_resolve(dep, "overlay", &paths, &n), -ENOENT);
	assert_int_equal(modules_dep_resolve("", "overlay", &paths, &n), -ENOENT);
}

int main(void)
{
	log_set_max_level(LOG_LEVEL_ERROR - 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dependencies_first),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
