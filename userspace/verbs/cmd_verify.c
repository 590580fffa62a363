/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade verify: an operator's scrub. Each installed image is read
 * through the dm-verity hash tree appended after it (image/verity_tree.h),
 * against the root hash in its .json: every data block, every tree block,
 * the superblock. Userspace only: no device-mapper needed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "corrupt_record.h"
#include "image_meta.h"
#include "log.h"
#include "util.h"
#include "verity_tree.h"

static const char verify_help[] =
	"Usage: kairos-upgrade verify [active|passive|recovery|all] [OPTIONS]\n"
	"       kairos-upgrade verify --image FILE [--root-hash HEX --hash-offset BYTES] [OPTIONS]\n"
	"\n"
	"Read each image (default: all three slots) through the dm-verity hash tree\n"
	"stored after it, checking every block against the root hash recorded in the\n"
	"image's .json (\"verity\"): the superblock, every tree block, every data\n"
	"block. Reports OK or the first bad block. A corrupt passive is committed bad\n"
	"(never fallen back to); a corrupt recovery image is recorded for 'status'\n"
	"(until upgrade --recovery replaces it). An image installed before images\n"
	"carried a tree has no record: reported, and not an error unless\n"
	"--require-verity. An empty slot is skipped.\n"
	"\n"
	"Exit status: 0 every image verified (or had no record); 1 an error (cannot\n"
	"read, an invalid record, bad usage); 2 a corrupt or truncated image; 3 an\n"
	"image without a record, with --require-verity. Corruption wins over 3, 3\n"
	"over 1.\n"
	"\n"
	"  --image FILE        a squashfs file instead of the slots, its record read from\n"
	"                      FILE.json beside it (FILE.squashfs -> FILE.json), as pull\n"
	"                      writes it, unless --root-hash and --hash-offset give it\n"
	"  --root-hash HEX     the root hash (64 hex digits); salt and sizes are then\n"
	"                      read from the tree's superblock, as veritysetup does\n"
	"  --hash-offset BYTES where the superblock is (a multiple of 4096)\n"
	"  --require-verity    an image without a verity record is an error (exit 3)\n"
	"  --json              one JSON object: {\"images\": [{slot, image, path, result,\n"
	"                      first_bad_block, bad_area, data_blocks, root_hash}]}\n" STATE_OPTIONS_HELP
	"  -h, --help          show this help\n";

enum verify_result { VERIFY_OK, VERIFY_CORRUPT, VERIFY_NO_RECORD, VERIFY_ERROR, VERIFY_EMPTY };
static const char *const result_names[] = { "ok", "corrupt", "no-record", "error", "empty" };

struct verify_args {
	struct state_options state;
	const char *image;
	const char *root_hash;
	const char *hash_offset;
	bool require_verity;
	bool json;
	bool slots[BOOT_SLOT_COUNT];
};

struct verify_outcome {
	enum verify_result result;
	uint64_t first_bad;
	const char *bad_area; /* "data", "tree", "superblock", "end of file" */
	struct verity_record rec;
};

static const char *bad_area(const struct verity_record *rec, uint64_t block, uint64_t data_blocks)
{
	if (block < data_blocks)
		return "data";
	if (block == rec->hash_offset / VERITY_BLOCK_SIZE)
		return "superblock";
	return block < rec->hash_offset / VERITY_BLOCK_SIZE ? "padding" : "tree";
}

/* One file against its record. */
static void verify_file(const char *path, const struct verity_record *rec, struct verify_outcome *out)
{
	out->rec = *rec;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		log_error_errno(negative_errno(), "Cannot open %s: %m", path);
		out->result = VERIFY_ERROR;
		return;
	}
	/* A scrub reads every block once: tell the kernel not to keep them. */
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	int r = verity_tree_verify(fd, path, rec, &out->first_bad);
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (r == -EBADMSG) {
		out->result = VERIFY_CORRUPT;
		/* data_blocks from the record, or (CLI) as far as the superblock. */
		uint64_t data_blocks = rec->data_blocks ? rec->data_blocks : rec->hash_offset / VERITY_BLOCK_SIZE;
		struct stat st;
		bool past_end = fstat(fd, &st) == 0 && out->first_bad >= (uint64_t) st.st_size / VERITY_BLOCK_SIZE &&
				out->first_bad != rec->hash_offset / VERITY_BLOCK_SIZE;
		out->bad_area = past_end ? "end of file" : bad_area(rec, out->first_bad, data_blocks);
	} else
		out->result = r < 0 ? VERIFY_ERROR : VERIFY_OK;
}

static void verify_with_meta(const char *path, const char *meta_path, bool require, struct verify_outcome *out)
{
	struct image_meta meta;
	int r = image_meta_read(meta_path, &meta);
	if (r < 0) {
		log_error_errno(r, "Cannot read %s, the record of %s: %m", meta_path, path);
		out->result = VERIFY_ERROR;
		return;
	}
	if (meta.verity_invalid) {
		log_error("%s: the verity record in %s is invalid (%s): not verified", path, meta_path,
			  meta.verity_invalid);
		out->result = VERIFY_ERROR;
	} else if (meta.verity.data_blocks == 0) {
		if (require)
			log_error("%s has no verity record (installed before images carried a hash tree)", path);
		else
			log_info("%s has no verity record (installed before images carried a hash tree): not verified",
				 path);
		out->result = VERIFY_NO_RECORD;
	} else
		verify_file(path, &meta.verity, out);
	image_meta_done(&meta);
}

static json_t *outcome_json(const char *slot, const char *image, const char *path, const struct verify_outcome *o)
{
	char root[2 * VERITY_DIGEST_SIZE + 1];
	bool have = o->result == VERIFY_OK || o->result == VERIFY_CORRUPT;
	verity_hex(o->rec.root_hash, sizeof(o->rec.root_hash), root);
	json_t *j = json_pack("{s:s?, s:s?, s:s?, s:s}", "slot", slot, "image", image, "path", path, "result",
			      result_names[o->result]);
	if (!j)
		return NULL;
	json_object_set_new(j, "first_bad_block",
			    o->result == VERIFY_CORRUPT ? json_integer((json_int_t) o->first_bad) : json_null());
	json_object_set_new(j, "bad_area", o->result == VERIFY_CORRUPT ? json_string(o->bad_area) : json_null());
	json_object_set_new(j, "data_blocks",
			    have && o->rec.data_blocks ? json_integer((json_int_t) o->rec.data_blocks) : json_null());
	json_object_set_new(j, "root_hash", have ? json_string(root) : json_null());
	return j;
}

static void print_outcome(const char *slot, const char *path, const struct verify_outcome *o)
{
	switch (o->result) {
	case VERIFY_OK:
		printf("%-9s OK        %s\n", slot, path);
		break;
	case VERIFY_CORRUPT:
		printf("%-9s CORRUPT   %s: first bad block %" PRIu64 " (%s, byte %" PRIu64 ")\n", slot, path,
		       o->first_bad, o->bad_area, o->first_bad * VERITY_BLOCK_SIZE);
		break;
	case VERIFY_NO_RECORD:
		printf("%-9s NO RECORD %s: installed before images carried a hash tree\n", slot, path);
		break;
	case VERIFY_ERROR:
		printf("%-9s ERROR     %s: not verified (see the error above)\n", slot, path);
		break;
	case VERIFY_EMPTY:
		printf("%-9s EMPTY\n", slot);
		break;
	}
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
	enum { ARG_IMAGE = 0x100, ARG_ROOT_HASH, ARG_HASH_OFFSET, ARG_REQUIRE, ARG_JSON };
	static const struct option options[] = {
		{ "image", required_argument, NULL, ARG_IMAGE },
		{ "root-hash", required_argument, NULL, ARG_ROOT_HASH },
		{ "hash-offset", required_argument, NULL, ARG_HASH_OFFSET },
		{ "require-verity", no_argument, NULL, ARG_REQUIRE },
		{ "json", no_argument, NULL, ARG_JSON },
		STATE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	state_options_init(&a->state);
	optind = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		if (state_options_option(c, optarg, &a->state))
			continue;
		switch (c) {
		case ARG_IMAGE:
			a->image = optarg;
			break;
		case ARG_ROOT_HASH:
			a->root_hash = optarg;
			break;
		case ARG_HASH_OFFSET:
			a->hash_offset = optarg;
			break;
		case ARG_REQUIRE:
			a->require_verity = true;
			break;
		case ARG_JSON:
			a->json = true;
			break;
		case 'h':
			fputs(verify_help, stdout);
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (!a->root_hash != !a->hash_offset)
		return log_error_errno(-EINVAL, "--root-hash and --hash-offset go together (see --help)");
	if (a->root_hash && !a->image)
		return log_error_errno(-EINVAL, "--root-hash and --hash-offset need --image FILE (see --help)");
	if (a->image && optind < argc)
		return log_error_errno(-EINVAL, "verify --image takes no slot (see --help)");
	if (optind + 1 < argc)
		return log_error_errno(-EINVAL, "verify takes one of active, passive, recovery, all (see --help)");
	const char *which = optind < argc ? argv[optind] : "all";
	for (enum boot_slot s = 0; s < BOOT_SLOT_COUNT; s++)
		a->slots[s] = streq(which, "all") || streq(which, boot_slot_to_string(s));
	if (!a->image && !a->slots[BOOT_SLOT_ACTIVE] && !a->slots[BOOT_SLOT_PASSIVE] && !a->slots[BOOT_SLOT_RECOVERY])
		return log_error_errno(-EINVAL, "verify: unknown slot '%s': active, passive, recovery or all", which);
	return 1;
}

/* What a scrub of the slots found, for commit_findings(). */
struct slot_finding {
	char image[IMAGE_ID_LEN + 1];
	enum verify_result result;
	uint64_t first_bad;
	const char *area;
};

/* After the scan, which holds no lock (it reads gigabytes): a corrupt
 * passive is committed bad, a corrupt recovery recorded (an OK one clears
 * its record), each only if the slot still holds the image read. Active is
 * the kernel's to report (mark-corrupt) when a read hits the block. */
static int commit_findings(const struct verify_args *a, const struct slot_finding f[BOOT_SLOT_COUNT])
{
	const struct slot_finding *p = &f[BOOT_SLOT_PASSIVE], *rv = &f[BOOT_SLOT_RECOVERY];
	bool passive = p->result == VERIFY_CORRUPT;
	bool recovery = rv->result == VERIFY_CORRUPT || rv->result == VERIFY_OK;
	if (!passive && !recovery)
		return 0;
	struct state_options o = a->state;
	o.lock_wait_ms = 60U * 1000U;
	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	int r = state_context_open(&ctx, &o, true);
	if (r < 0)
		return r;
	struct slot_state *st = &ctx.state.slots[BOOT_SLOT_PASSIVE];
	if (passive && streq(st->image, p->image) && st->status != SLOT_STATUS_BAD) {
		char reason[SLOT_REASON_MAX];
		corrupt_reason(reason, sizeof(reason), p->area, p->first_bad, p->image);
		r = boot_state_mark_bad(&ctx.state, BOOT_SLOT_PASSIVE, reason);
		if (r == 0)
			r = boot_state_save(ctx.dir.path, &ctx.state); /* the commit point */
		if (r < 0)
			return log_error_errno(r, "Could not commit the corrupt passive bad: %m");
		log_warning("passive (image %.12s) marked bad: %s", p->image, reason);
	}
	const char *rid = ctx.state.slots[BOOT_SLOT_RECOVERY].image;
	if (recovery && streq(rid, rv->image)) {
		struct recovery_corrupt old;
		bool recorded = recovery_corrupt_applies(ctx.dir.path, rid, &old);
		if (rv->result == VERIFY_OK && recorded) {
			r = recovery_corrupt_clear(ctx.dir.path);
			if (r == 0)
				log_info("recovery (image %.12s) verified OK: its corrupt record is cleared", rid);
		} else if (rv->result == VERIFY_CORRUPT &&
			   (!recorded || old.block != rv->first_bad || !streq(old.area, rv->area))) {
			struct recovery_corrupt rc = { .block = rv->first_bad,
						       .area = corrupt_area_from_string(rv->area) };
			memcpy(rc.image, rid, sizeof(rc.image));
			r = recovery_corrupt_write(ctx.dir.path, &rc);
			if (r == 0)
				log_warning("recovery image %.12s corrupt: block %" PRIu64 "; run upgrade --recovery",
					    rid, rv->first_bad);
		}
	}
	return r;
}

/* --root-hash HEX --hash-offset BYTES: salt and sizes from the superblock. */
static int record_from_args(const struct verify_args *a, struct verity_record *rec)
{
	*rec = (struct verity_record){ 0 };
	if (verity_unhex(a->root_hash, rec->root_hash, sizeof(rec->root_hash)) < 0)
		return log_error_errno(-EINVAL, "--root-hash: not 64 hex digits");
	char *end = NULL;
	errno = 0;
	unsigned long long off = strtoull(a->hash_offset, &end, 10);
	if (errno != 0 || end == a->hash_offset || *end || a->hash_offset[0] == '-' || off == 0 ||
	    off % VERITY_BLOCK_SIZE != 0)
		return log_error_errno(-EINVAL, "--hash-offset: not a positive multiple of 4096");
	rec->hash_offset = off;
	return 0;
}

int verb_verify(int argc, char **argv)
{
	_cleanup_(state_context_close) struct state_context ctx = STATE_CONTEXT_INIT;
	struct verify_args a = { 0 };
	int r = parse_args(argc, argv, &a);
	if (r <= 0)
		return r;
	json_t *list = json_array();
	if (!list)
		return -ENOMEM;
	bool corrupt = false, missing = false, error = false;

	if (a.image) {
		struct verify_outcome o = { 0 };
		if (a.root_hash) {
			struct verity_record rec;
			r = record_from_args(&a, &rec);
			if (r < 0) {
				json_decref(list);
				return r;
			}
			verify_file(a.image, &rec, &o);
		} else {
			_cleanup_free_ char *meta = image_meta_path_beside(a.image);
			if (!meta) {
				json_decref(list);
				return -ENOMEM;
			}
			verify_with_meta(a.image, meta, a.require_verity, &o);
		}
		corrupt = o.result == VERIFY_CORRUPT;
		missing = o.result == VERIFY_NO_RECORD;
		error = o.result == VERIFY_ERROR;
		if (a.json)
			json_array_append_new(list, outcome_json(NULL, NULL, a.image, &o));
		else
			print_outcome("image", a.image, &o);
	} else {
		r = state_context_open(&ctx, &a.state, false);
		if (r < 0) {
			json_decref(list);
			return r;
		}
		/* A running node keeps COS_RECOVERY unmounted. */
		if (a.slots[BOOT_SLOT_RECOVERY] && ctx.state.slots[BOOT_SLOT_RECOVERY].image[0] &&
		    state_dir_mount_recovery(&ctx.dir, "/proc/cmdline") < 0)
			log_warning("The recovery partition is not mounted: recovery is not verified");
		struct slot_finding found[BOOT_SLOT_COUNT] = { 0 };
		for (enum boot_slot s = 0; s < BOOT_SLOT_COUNT; s++) {
			if (!a.slots[s])
				continue;
			const char *id = ctx.state.slots[s].image;
			struct verify_outcome o = { .result = VERIFY_EMPTY };
			_cleanup_free_ char *path = id[0] ? state_dir_image_path(&ctx.dir, s, id) : NULL;
			_cleanup_free_ char *meta = id[0] ? state_dir_meta_path(&ctx.dir, s, id) : NULL;
			if (id[0] && (!path || !meta)) {
				json_decref(list);
				return -ENOMEM;
			}
			if (id[0])
				verify_with_meta(path, meta, a.require_verity, &o);
			found[s] = (struct slot_finding){ .result = o.result,
							  .first_bad = o.first_bad,
							  .area = o.bad_area };
			memcpy(found[s].image, id, sizeof(found[s].image));
			corrupt |= o.result == VERIFY_CORRUPT;
			missing |= o.result == VERIFY_NO_RECORD;
			error |= o.result == VERIFY_ERROR;
			if (a.json)
				json_array_append_new(
					list, outcome_json(boot_slot_to_string(s), id[0] ? id : NULL, path, &o));
			else
				print_outcome(boot_slot_to_string(s), path ? path : "", &o);
		}
		/* Still exit 2 for the corruption when the commit fails (logged). */
		state_context_close(&ctx);
		if (commit_findings(&a, found) < 0)
			error = true;
	}
	if (a.json) {
		json_t *o = json_pack("{s:o}", "images", list);
		_cleanup_free_ char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
		json_decref(o);
		if (text)
			puts(text);
	} else
		json_decref(list);
	fflush(stdout);
	if (corrupt)
		return 2;
	if (missing && a.require_verity)
		return 3;
	return error ? 1 : 0;
}
