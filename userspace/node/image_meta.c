/* SPDX-License-Identifier: Apache-2.0 */
#include "image_meta.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "durable.h"
#include "image_config.h"
#include "log.h"
#include "util.h"

void image_meta_now(char buf[32])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What a verifier needs to build the same bytes (docs/DESIGN.md,
 * "Deterministic images"); NULL when out of memory. */
static json_t *build_record_json(const struct build_record *b)
{
	json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:b, s:s, s:s}", "format", (json_int_t) b->format, "compressor",
			      b->compressor, "level", (json_int_t) b->level, "block_size", (json_int_t) b->block_size,
			      "prescan", b->prescan, "libsquashfs", b->libsquashfs, "libarchive", b->libarchive);
	/* The one line `sign --verity-build` takes (build_record_string()). */
	char line[BUILD_RECORD_STRING_MAX];
	build_record_string(b, line);
	if (o &&
	    ((b->compressor_lib && json_object_set_new(o, b->compressor_lib, json_string(b->compressor_version)) < 0) ||
	     json_object_set_new(o, "settings", json_string(line)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int image_meta_write(const char *path, const struct image_meta *meta)
{
	json_t *o = json_pack("{s:s?, s:s?, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "source", meta->source, "digest",
			      meta->digest, "size", (json_int_t) meta->size, "installed", meta->installed, "created",
			      meta->created, "version", meta->version, "signed_by", meta->signed_by, "signature",
			      meta->signature, "policy", meta->policy);
	if (!o)
		return -ENOMEM;
	int k = 0;
	if (meta->received > 0)
		k |= json_object_set_new(o, "received", json_integer((json_int_t) meta->received));
	if (meta->reused > 0)
		k |= json_object_set_new(o, "reused", json_integer((json_int_t) meta->reused));
	if (meta->reused_from)
		k |= json_object_set_new(o, "reused_from", json_string(meta->reused_from));
	if (meta->n_layers > 0) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < meta->n_layers; i++)
			k |= json_array_append_new(a, json_string(meta->layers[i]));
		k |= a ? json_object_set_new(o, "layers", a) : -1;
	}
	if (meta->build)
		k |= json_object_set_new(o, "build", build_record_json(meta->build));
	if (k != 0) {
		json_decref(o);
		return -ENOMEM;
	}
	if (meta->verity.data_blocks > 0 &&
	    json_object_set_new(o, "verity", image_meta_verity_to_json(&meta->verity)) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	_cleanup_free_ char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	int r = write_file_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		return log_error_errno(r, "Failed to write %s: %m", path);
	return 0;
}

int image_meta_write_installed(const char *path, const struct image_meta *meta, const char *image_path)
{
	struct stat st;
	char now[32];
	image_meta_now(now);
	struct image_meta m = *meta;
	m.size = stat(image_path, &st) == 0 ? (uint64_t) st.st_size : 0;
	m.installed = now;
	return image_meta_write(path, &m);
}

struct image_meta image_meta_from_pull(const struct pull *p, const char *source)
{
	struct image_meta m = {
		.source = (char *) source,
		.digest = (char *) pull_digest(p),
		.created = (char *) pull_created(p),
		.version = (char *) pull_version(p),
		.signed_by = (char *) pull_signed_by(p),
		.signature = (char *) pull_signature_format(p),
		.policy = (char *) pull_policy_file(p),
		.received = pull_bytes_received(p),
		.reused = pull_reused_bytes(p),
		.reused_from = (char *) pull_reused_from(p),
		.build = pull_build_record(p),
	};
	if (pull_verity(p))
		m.verity = *pull_verity(p);
	return m;
}

char *image_meta_path_beside(const char *image)
{
	size_t len = strlen(image), ext = strlen(".squashfs");
	if (len > ext && streq(image + len - ext, ".squashfs"))
		len -= ext;
	char *path = NULL;
	return asprintf(&path, "%.*s.json", (int) len, image) < 0 ? NULL : path;
}

json_t *image_meta_verity_to_json(const struct verity_record *v)
{
	char root[2 * VERITY_DIGEST_SIZE + 1], salt[2 * VERITY_SALT_MAX + 1];
	verity_hex(v->root_hash, sizeof(v->root_hash), root);
	verity_hex(v->salt, v->salt_size, salt);
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:i, s:i}", "root_hash", root, "salt", salt, "hash_offset",
			 (json_int_t) v->hash_offset, "data_blocks", (json_int_t) v->data_blocks, "algorithm", "sha256",
			 "data_block_size", (int) VERITY_BLOCK_SIZE, "hash_block_size", (int) VERITY_BLOCK_SIZE);
}

/* Exactly the seven members image_meta_verity_to_json() writes, each
 * checked: kairos-upgrade verify and boot trust the root hash in it. */
const char *image_meta_verity_from_json(json_t *o, struct verity_record *ret)
{
	static const char *const keys[] = { "root_hash",      "salt",      "hash_offset",
					    "data_blocks",    "algorithm", "data_block_size",
					    "hash_block_size" };
	static const char members[] = "not exactly root_hash, salt, hash_offset, data_blocks, algorithm, "
				      "data_block_size, hash_block_size";
	*ret = (struct verity_record){ 0 };
	if (!json_is_object(o))
		return "not an object";
	if (json_object_size(o) != ELEMENTSOF(keys))
		return members;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (!json_object_get(o, keys[i]))
			return members;
	const char *root = json_string_value(json_object_get(o, "root_hash"));
	const char *salt = json_string_value(json_object_get(o, "salt"));
	json_t *off = json_object_get(o, "hash_offset"), *blocks = json_object_get(o, "data_blocks");
	json_t *dbs = json_object_get(o, "data_block_size"), *hbs = json_object_get(o, "hash_block_size");
	struct verity_record v = { 0 };
	if (!root || verity_unhex(root, v.root_hash, sizeof(v.root_hash)) < 0)
		return "root_hash is not 64 hex digits";
	size_t salt_len = salt ? strnlen(salt, 2 * VERITY_SALT_MAX + 1) : 0;
	if (!salt || salt_len % 2 != 0 || salt_len > 2 * VERITY_SALT_MAX ||
	    verity_unhex(salt, v.salt, salt_len / 2) < 0)
		return "salt is not hex of at most 256 bytes";
	v.salt_size = salt_len / 2;
	if (!streq_ptr(json_string_value(json_object_get(o, "algorithm")), "sha256"))
		return "algorithm is not sha256";
	if (!json_is_integer(dbs) || json_integer_value(dbs) != VERITY_BLOCK_SIZE || !json_is_integer(hbs) ||
	    json_integer_value(hbs) != VERITY_BLOCK_SIZE)
		return "block sizes are not 4096";
	if (!json_is_integer(off) || json_integer_value(off) <= 0 || json_integer_value(off) % VERITY_BLOCK_SIZE != 0)
		return "hash_offset is not a positive multiple of 4096";
	v.hash_offset = (uint64_t) json_integer_value(off);
	if (!json_is_integer(blocks) || json_integer_value(blocks) <= 0 ||
	    (uint64_t) json_integer_value(blocks) > v.hash_offset / VERITY_BLOCK_SIZE)
		return "data_blocks is not between 1 and hash_offset / 4096";
	v.data_blocks = (uint64_t) json_integer_value(blocks);
	v.hash_start_block = verity_hash_start_block(v.hash_offset);
	*ret = v;
	return NULL;
}

int image_meta_set_layers(struct image_meta *meta, const struct pull *p)
{
	size_t n = pull_n_layers(p);
	meta->layers = calloc(n ? n : 1, sizeof(char *));
	if (!meta->layers)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		meta->layers[i] = strdup(pull_layer_digest(p, i));
		if (!meta->layers[i])
			return -ENOMEM;
		meta->n_layers = i + 1;
	}
	return 0;
}

void image_meta_free_layers(struct image_meta *meta)
{
	for (size_t i = 0; i < meta->n_layers; i++)
		free(meta->layers[i]);
	free(meta->layers);
	meta->layers = NULL;
	meta->n_layers = 0;
}

static char *dup_string(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? strdup(v) : NULL;
}

/* Held to what pull accepts from a config: the anti-downgrade rule and
 * status's columns rely on it. */
static char *dup_valid(json_t *o, const char *key, bool (*valid)(const char *))
{
	const char *v = json_string_value(json_object_get(o, key));
	return v && valid(v) ? strdup(v) : NULL;
}

/* An image id: 64 lowercase hex digits (what status shows of reused_from). */
static bool is_image_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 64 && s[n] == '\0';
}

int image_meta_read(const char *path, struct image_meta *meta)
{
	*meta = (struct image_meta){ 0 };
	json_error_t err;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!o)
		return access(path, F_OK) < 0 ? -ENOENT : log_warning_errno(-EBADMSG, "%s: %s", path, err.text);
	meta->source = dup_string(o, "source");
	meta->digest = dup_string(o, "digest");
	meta->installed = dup_string(o, "installed");
	meta->created = dup_valid(o, "created", image_created_is_valid);
	meta->version = dup_valid(o, "version", image_version_is_valid);
	meta->signed_by = dup_string(o, "signed_by");
	meta->signature = dup_string(o, "signature");
	meta->policy = dup_string(o, "policy");
	json_int_t size = json_integer_value(json_object_get(o, "size"));
	meta->size = size > 0 ? (uint64_t) size : 0;
	json_int_t received = json_integer_value(json_object_get(o, "received"));
	meta->received = received > 0 ? (uint64_t) received : 0;
	json_int_t reused = json_integer_value(json_object_get(o, "reused"));
	meta->reused = reused > 0 ? (uint64_t) reused : 0;
	meta->reused_from = dup_valid(o, "reused_from", is_image_id);
	json_t *verity = json_object_get(o, "verity");
	if (verity && !json_is_null(verity)) {
		meta->verity_invalid = image_meta_verity_from_json(verity, &meta->verity);
		if (meta->verity_invalid)
			log_warning("%s: its \"verity\" record is invalid: %s", path, meta->verity_invalid);
	}
	json_decref(o);
	return 0;
}

void image_meta_done(struct image_meta *meta)
{
	free(meta->source);
	free(meta->digest);
	free(meta->installed);
	free(meta->created);
	free(meta->version);
	free(meta->signed_by);
	free(meta->signature);
	free(meta->policy);
	free(meta->reused_from);
	image_meta_free_layers(meta);
	*meta = (struct image_meta){ 0 };
}

int image_meta_commit_verity(struct boot_state *s, enum boot_slot slot, const char *meta_path)
{
	struct image_meta meta = { 0 };
	int r = image_meta_read(meta_path, &meta);
	if (r == -ENOENT) {
		log_info("%s is missing: the %s image is committed without a verity record", meta_path,
			 boot_slot_to_string(slot));
		return boot_state_set_verity(s, slot, NULL);
	}
	if (r < 0)
		return log_error_errno(r, "Cannot read %s for the image's verity record: %m", meta_path);
	if (meta.verity_invalid)
		r = log_error_errno(-EBADMSG, "%s: the verity record is invalid (%s): not committed", meta_path,
				    meta.verity_invalid);
	else if ((r = boot_state_set_verity(s, slot, &meta.verity)) < 0)
		r = log_error_errno(-EBADMSG,
				    "%s: the verity record does not fit state.env (over 2^40 blocks, or the tree not "
				    "right after the data): not committed",
				    meta_path);
	image_meta_done(&meta);
	return r;
}
