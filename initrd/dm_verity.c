/* SPDX-License-Identifier: Apache-2.0 */
#include "dm_verity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "util.h"

#define DM_CONTROL_MAJOR 10
#define DM_CONTROL_MINOR 236 /* MAPPER_CTRL_MINOR */
#define SECTORS_PER_BLOCK (VERITY_BLOCK_SIZE / 512)

/* Each request asks for the oldest interface that has what it uses: the
 * kernel refuses a minor newer than its own (and any other major). */
static const uint32_t version_base[3] = { 4, 0, 0 };
static const uint32_t version_deferred[3] = { 4, 27, 0 }; /* DM_DEFERRED_REMOVE */

/* One request: the header, then (a table load) one target spec and its
 * parameters. 8-byte aligned, as the kernel checks. */
union dm_request {
	struct dm_ioctl io;
	uint64_t align;
	char bytes[sizeof(struct dm_ioctl) + sizeof(struct dm_target_spec) + DM_VERITY_TABLE_MAX + 8];
};

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t) 7;
}

static int real_ioctl(void *userdata, unsigned long request, struct dm_ioctl *io)
{
	int fd = (int) (intptr_t) userdata;
	return ioctl(fd, request, io) < 0 ? negative_errno() : 0;
}

int dm_control_open(struct dm_control *c)
{
	*c = (struct dm_control){ .fd = -1 };
	int fd = open(DM_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	/* Without udev, and dm-mod loaded after devtmpfs was mounted, the
	 * node may be missing: the kernel's number for it never changes. */
	if (fd < 0 && errno == ENOENT) {
		(void) mkdir_parents("/dev/mapper", 0755);
		if (mknod(DM_CONTROL_PATH, S_IFCHR | 0600, makedev(DM_CONTROL_MAJOR, DM_CONTROL_MINOR)) < 0 &&
		    errno != EEXIST)
			return log_error_errno(negative_errno(), "Cannot create %s: %m", DM_CONTROL_PATH);
		fd = open(DM_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return log_error_errno(negative_errno(), "Cannot open %s (no device-mapper in this kernel?): %m",
				       DM_CONTROL_PATH);
	*c = (struct dm_control){ .call = real_ioctl, .userdata = (void *) (intptr_t) fd, .fd = fd };
	return 0;
}

void dm_control_close(struct dm_control *c)
{
	if (c->fd >= 0)
		close(c->fd);
	*c = (struct dm_control){ .fd = -1 };
}

/* snprintf at *len, which it advances; -ENAMETOOLONG instead of a cut. */
__attribute__((format(printf, 4, 5))) static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= size - *len)
		return -ENAMETOOLONG;
	*len += (size_t) n;
	return 0;
}

int dm_verity_params(const struct verity_record *rec, dev_t dev, const char *const *opt_args, char *buf, size_t size)
{
	char root[2 * VERITY_DIGEST_SIZE + 1], salt[2 * VERITY_SALT_MAX + 1] = "-";
	if (rec->salt_size > VERITY_SALT_MAX || size == 0)
		return -EINVAL;
	verity_hex(rec->root_hash, sizeof(rec->root_hash), root);
	if (rec->salt_size > 0)
		verity_hex(rec->salt, rec->salt_size, salt);
	unsigned maj = major(dev), min = minor(dev);
	size_t len = 0, count = 0;
	int r = append(buf, size, &len, "1 %u:%u %u:%u %u %u %" PRIu64 " %" PRIu64 " sha256 %s %s", maj, min, maj, min,
		       VERITY_BLOCK_SIZE, VERITY_BLOCK_SIZE, rec->data_blocks, rec->hash_start_block, root, salt);
	while (opt_args && opt_args[count])
		count++;
	if (r == 0 && count > 0)
		r = append(buf, size, &len, " %zu", count);
	for (size_t i = 0; r == 0 && i < count; i++)
		r = append(buf, size, &len, " %s", opt_args[i]);
	return r;
}

/* The header every request starts with: the version asked for, sizes, name. */
static int request_init(union dm_request *req, const uint32_t version[3], const char *name, uint32_t flags)
{
	memset(req, 0, sizeof(*req));
	if (strlen(name) >= sizeof(req->io.name))
		return -ENAMETOOLONG;
	memcpy(req->io.version, version, sizeof(req->io.version));
	req->io.data_size = sizeof(struct dm_ioctl);
	req->io.data_start = sizeof(struct dm_ioctl);
	req->io.flags = flags;
	memcpy(req->io.name, name, strlen(name) + 1);
	return 0;
}

int dm_remove(const struct dm_control *c, const char *name, bool deferred)
{
	union dm_request req;
	int r = request_init(&req, deferred ? version_deferred : version_base, name, deferred ? DM_DEFERRED_REMOVE : 0);
	if (r == 0)
		r = c->call(c->userdata, DM_DEV_REMOVE, &req.io);
	if (r < 0)
		return log_error_errno(r, "Cannot remove the device-mapper device %s: %m", name);
	return 0;
}

/* DM_TABLE_LOAD: one verity target over the whole data area, read-only
 * (dm-verity refuses a writable table). */
static int load_table(const struct dm_control *c, const char *name, uint64_t sectors, const char *params)
{
	union dm_request req;
	int r = request_init(&req, version_base, name, DM_READONLY_FLAG);
	if (r < 0)
		return r;
	size_t len = strlen(params) + 1;
	/* The spec's "next": from this spec to the next one, 8-aligned (the
	 * kernel checks it even when there is no next). */
	size_t spec_size = align8(sizeof(struct dm_target_spec) + len);
	if (sizeof(struct dm_ioctl) + spec_size > sizeof(req.bytes))
		return -ENAMETOOLONG;
	struct dm_target_spec spec = {
		.sector_start = 0,
		.length = sectors,
		.next = (uint32_t) spec_size,
	};
	memcpy(spec.target_type, "verity", sizeof("verity"));
	memcpy(req.bytes + req.io.data_start, &spec, sizeof(spec));
	memcpy(req.bytes + req.io.data_start + sizeof(spec), params, len);
	req.io.target_count = 1;
	req.io.data_size = (uint32_t) (sizeof(struct dm_ioctl) + spec_size);
	return c->call(c->userdata, DM_TABLE_LOAD, &req.io);
}

int dm_verity_create(const struct dm_control *c, const char *name, const struct verity_record *rec, dev_t data_dev,
		     const char *const *opt_args, dev_t *ret_dev, char *table, size_t table_size)
{
	char params[DM_VERITY_TABLE_MAX];
	if (rec->data_blocks == 0 || rec->data_blocks > UINT64_MAX / SECTORS_PER_BLOCK)
		return log_error_errno(-EINVAL, "%s: %" PRIu64 " data blocks cannot be a device", name,
				       rec->data_blocks);
	uint64_t sectors = rec->data_blocks * SECTORS_PER_BLOCK;
	int r = dm_verity_params(rec, data_dev, opt_args, params, sizeof(params));
	if (r < 0)
		return log_error_errno(r, "%s: the verity table does not fit %d bytes", name, DM_VERITY_TABLE_MAX);
	if (table)
		snprintf(table, table_size, "0 %" PRIu64 " verity %s", sectors, params);

	union dm_request req;
	if ((r = request_init(&req, version_base, name, 0)) < 0)
		return log_error_errno(r, "Device-mapper name %s is too long", name);
	if ((r = c->call(c->userdata, DM_DEV_CREATE, &req.io)) < 0)
		return log_error_errno(r, "Cannot create the device-mapper device %s: %m", name);
	dev_t dev = (dev_t) req.io.dev;

	const char *step = "load the verity table of";
	r = load_table(c, name, sectors, params);
	if (r == 0) {
		step = "resume";
		/* DM_DEV_SUSPEND without DM_SUSPEND_FLAG: make the loaded table live. */
		r = request_init(&req, version_base, name, 0);
		if (r == 0)
			r = c->call(c->userdata, DM_DEV_SUSPEND, &req.io);
	}
	if (r < 0) {
		log_error_errno(r, "Cannot %s the device-mapper device %s: %m", step, name);
		/* Never half a device: removed now, or (deferred) as soon as
		 * whoever opened it meanwhile (udev's scan) lets go. */
		(void) dm_remove(c, name, true);
		return r;
	}
	*ret_dev = dev;
	return 0;
}

int dm_make_node(const char *name, dev_t dev, char *path, size_t size)
{
	int n = snprintf(path, size, "/dev/mapper/%s", name);
	if (n < 0 || (size_t) n >= size)
		return -ENAMETOOLONG;
	(void) mkdir_parents("/dev/mapper", 0755);
	if (mknod(path, S_IFBLK | 0600, dev) == 0)
		return 0;
	if (errno != EEXIST)
		return log_error_errno(negative_errno(), "Cannot create %s: %m", path);
	/* udev was first, or a node of an earlier device of that name. */
	struct stat st;
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev)
		return 0;
	if (unlink(path) < 0 || mknod(path, S_IFBLK | 0600, dev) < 0)
		return log_error_errno(negative_errno(), "Cannot replace %s: %m", path);
	return 0;
}
