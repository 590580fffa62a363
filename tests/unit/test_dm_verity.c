/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-boot's device-mapper requests (initrd/dm_verity.c), byte for byte
 * as <linux/dm-ioctl.h> lays them out, through an injected ioctl: the
 * versions asked for, names, flags, the one target and its table, and that
 * a failure after the create removes the device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "dm_verity.h"

#define MAX_CALLS 8

struct call {
	unsigned long request;
	size_t size;
	union {
		struct dm_ioctl io;
		char bytes[4096];
	};
};

struct fake {
	struct call calls[MAX_CALLS];
	size_t n;
	unsigned long fail_request; /* this request fails with fail_errno */
	int fail_errno;
};

static int fake_ioctl(void *userdata, unsigned long request, struct dm_ioctl *io)
{
	struct fake *f = userdata;
	assert_true(f->n < MAX_CALLS);
	struct call *c = &f->calls[f->n++];
	c->request = request;
	/* Only what the header says is the request: copy exactly that. */
	assert_true(io->data_size >= sizeof(struct dm_ioctl) && io->data_size <= sizeof(c->bytes));
	c->size = io->data_size;
	memcpy(c->bytes, io, io->data_size);
	if (request == f->fail_request)
		return -f->fail_errno;
	if (request == DM_DEV_CREATE)
		io->dev = makedev(253, 4); /* what the kernel answers */
	return 0;
}

static struct verity_record record(void)
{
	struct verity_record rec = { .data_blocks = 262144, .hash_offset = 262144ULL * 4096, .salt_size = 32 };
	for (unsigned i = 0; i < sizeof(rec.root_hash); i++)
		rec.root_hash[i] = (uint8_t) i;
	memset(rec.salt, 0x5a, rec.salt_size);
	rec.hash_start_block = verity_hash_start_block(rec.hash_offset);
	return rec;
}

#define ROOT "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define SALT "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
#define PARAMS "1 7:3 7:3 4096 4096 262144 262145 sha256 " ROOT " " SALT

static void assert_header(const struct call *c, unsigned long request, uint32_t minor, uint32_t flags)
{
	assert_int_equal(c->request, request);
	assert_int_equal(c->io.version[0], 4);
	assert_int_equal(c->io.version[1], minor);
	assert_int_equal(c->io.version[2], 0);
	assert_int_equal(c->io.data_start, sizeof(struct dm_ioctl));
	assert_int_equal(c->io.data_start % 8, 0);
	assert_int_equal(c->io.flags, flags);
	assert_string_equal(c->io.name, "kairos-active");
	assert_string_equal(c->io.uuid, "");
	assert_int_equal(c->io.event_nr, 0);
}

static void test_params(void **unused)
{
	(void) unused;
	struct verity_record rec = record();
	char buf[DM_VERITY_TABLE_MAX];
	assert_int_equal(dm_verity_params(&rec, makedev(7, 3), NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, PARAMS);
	/* Optional arguments: their count first, as the kernel reads them. */
	const char *const opts[] = { "ignore_zero_blocks", "restart_on_corruption", NULL };
	assert_int_equal(dm_verity_params(&rec, makedev(7, 3), opts, buf, sizeof(buf)), 0);
	assert_string_equal(buf, PARAMS " 2 ignore_zero_blocks restart_on_corruption");
	/* No salt: "-". Large device numbers as the kernel prints them. */
	rec.salt_size = 0;
	assert_int_equal(dm_verity_params(&rec, makedev(259, 1048575), NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1 259:1048575 259:1048575 4096 4096 262144 262145 sha256 " ROOT " -");
	/* Never cut short. */
	rec = record();
	assert_int_equal(dm_verity_params(&rec, makedev(7, 3), NULL, buf, strlen(PARAMS)), -ENAMETOOLONG);
	assert_int_equal(dm_verity_params(&rec, makedev(7, 3), opts, buf, strlen(PARAMS) + 4), -ENAMETOOLONG);
	rec.salt_size = VERITY_SALT_MAX + 1;
	assert_int_equal(dm_verity_params(&rec, makedev(7, 3), NULL, buf, sizeof(buf)), -EINVAL);
}

static void test_create_requests(void **unused)
{
	(void) unused;
	struct fake f = { 0 };
	struct dm_control c = { .call = fake_ioctl, .userdata = &f, .fd = -1 };
	struct verity_record rec = record();
	dev_t dev = 0;
	char table[DM_VERITY_TABLE_MAX + 32];
	assert_int_equal(dm_verity_create(&c, "kairos-active", &rec, makedev(7, 3), NULL, &dev, table, sizeof(table)),
			 0);
	assert_int_equal(dev, makedev(253, 4));
	assert_string_equal(table, "0 2097152 verity " PARAMS);
	assert_int_equal(f.n, 3);

	/* DM_DEV_CREATE: the header alone. */
	assert_header(&f.calls[0], DM_DEV_CREATE, 0, 0);
	assert_int_equal(f.calls[0].io.data_size, sizeof(struct dm_ioctl));
	assert_int_equal(f.calls[0].io.target_count, 0);

	/* DM_TABLE_LOAD: read-only (dm-verity refuses a writable table), one
	 * target spec right after the header, its parameters right after it,
	 * NUL-terminated, the whole 8-aligned and "next" pointing past it. */
	const struct call *load = &f.calls[1];
	assert_header(load, DM_TABLE_LOAD, 0, DM_READONLY_FLAG);
	assert_int_equal(load->io.target_count, 1);
	struct dm_target_spec spec;
	memcpy(&spec, load->bytes + load->io.data_start, sizeof(spec));
	assert_int_equal(spec.sector_start, 0);
	assert_int_equal(spec.length, 262144 * 8);
	assert_int_equal(spec.status, 0);
	assert_string_equal(spec.target_type, "verity");
	const char *params = load->bytes + load->io.data_start + sizeof(spec);
	assert_string_equal(params, PARAMS);
	size_t want_next = (sizeof(spec) + strlen(PARAMS) + 1 + 7) / 8 * 8;
	assert_int_equal(spec.next, want_next);
	assert_int_equal(load->io.data_size, sizeof(struct dm_ioctl) + want_next);
	assert_int_equal(load->io.data_size % 8, 0);
	for (size_t i = sizeof(struct dm_ioctl) + sizeof(spec) + strlen(PARAMS); i < load->io.data_size; i++)
		assert_int_equal(load->bytes[i], 0); /* the NUL and the padding */

	/* DM_DEV_SUSPEND without DM_SUSPEND_FLAG: resume. */
	assert_header(&f.calls[2], DM_DEV_SUSPEND, 0, 0);
	assert_int_equal(f.calls[2].io.data_size, sizeof(struct dm_ioctl));
}

/* Whatever fails after the create, the device is removed: never half a
 * device; a failed create leaves nothing to remove. */
static void test_failures_remove(void **unused)
{
	(void) unused;
	static const unsigned long fails[] = { DM_DEV_CREATE, DM_TABLE_LOAD, DM_DEV_SUSPEND };
	for (size_t i = 0; i < 3; i++) {
		struct fake f = { .fail_request = fails[i], .fail_errno = EINVAL };
		struct dm_control c = { .call = fake_ioctl, .userdata = &f, .fd = -1 };
		struct verity_record rec = record();
		dev_t dev = 0;
		assert_int_equal(dm_verity_create(&c, "kairos-active", &rec, makedev(7, 3), NULL, &dev, NULL, 0),
				 -EINVAL);
		assert_int_equal(dev, 0);
		assert_int_equal(f.n, i == 0 ? 1 : i + 2);
		if (i == 0)
			continue;
		const struct call *rm = &f.calls[f.n - 1];
		/* Deferred: at once, or when udev's scan of the new device ends. */
		assert_header(rm, DM_DEV_REMOVE, 27, DM_DEFERRED_REMOVE);
		assert_int_equal(rm->io.data_size, sizeof(struct dm_ioctl));
	}
}

static void test_remove_deferred(void **unused)
{
	(void) unused;
	struct fake f = { 0 };
	struct dm_control c = { .call = fake_ioctl, .userdata = &f, .fd = -1 };
	assert_int_equal(dm_remove(&c, "kairos-active", true), 0);
	/* DM_DEFERRED_REMOVE came with ioctl version 4.27: asked for, not more. */
	assert_header(&f.calls[0], DM_DEV_REMOVE, 27, DM_DEFERRED_REMOVE);
}

static void test_refusals(void **unused)
{
	(void) unused;
	struct fake f = { 0 };
	struct dm_control c = { .call = fake_ioctl, .userdata = &f, .fd = -1 };
	struct verity_record rec = record();
	dev_t dev = 0;
	char name[DM_NAME_LEN + 1];
	memset(name, 'n', DM_NAME_LEN);
	name[DM_NAME_LEN] = '\0';
	assert_int_equal(dm_verity_create(&c, name, &rec, makedev(7, 3), NULL, &dev, NULL, 0), -ENAMETOOLONG);
	rec.data_blocks = 0;
	assert_int_equal(dm_verity_create(&c, "kairos-active", &rec, makedev(7, 3), NULL, &dev, NULL, 0), -EINVAL);
	rec.data_blocks = UINT64_MAX / 8 + 1; /* sectors would wrap */
	assert_int_equal(dm_verity_create(&c, "kairos-active", &rec, makedev(7, 3), NULL, &dev, NULL, 0), -EINVAL);
	assert_int_equal(f.n, 0); /* nothing asked of the kernel */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),          cmocka_unit_test(test_create_requests),
		cmocka_unit_test(test_failures_remove), cmocka_unit_test(test_remove_deferred),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
