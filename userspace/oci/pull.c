/* SPDX-License-Identifier: Apache-2.0 */
#include "pull.h"

#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_archive.h"
#include "log.h"
#include "oci_layout.h"
#include "policy.h"
#include "pull_source.h"
#include "reference.h"
#include "referrers.h"
#include "signature.h"
#include "util.h"

struct pull {
	struct manifest_store store;
	struct registry *registry; /* oci: sources */
	bool layout;               /* oci-layout: and oci-archive: sources */
	bool docker_archive;       /* docker-archive: sources */
	struct image_reference ref;
	char *object;
	char *name;
	struct progress *progress;
	struct image_source *src;
	char digest[DIGEST_STRING_MAX];
	struct signature_verdict verdict;
	bool require_signed_root_hash;
	char *policy_file;
	bool curl_initialized;
	uint64_t reused_bytes;
	char *reused_from;
	struct build_record record;  /* of the last pull_build(); record.format 0: none */
	struct verity_record verity; /* after pull_build(); data_blocks 0 before */
};

static int open_store(struct pull *p, const char *source, const struct registry_options *opts)
{
	static const struct {
		const char *prefix;
		int (*open)(const char *spec, struct manifest_store *ret_store, char **ret_object);
		bool docker;
	} local[] = {
		{ "oci-layout:", oci_layout_open, false },
		{ "oci-archive:", oci_archive_open, false },
		{ "docker-archive:", docker_archive_open, true },
	};
	for (size_t i = 0; i < ELEMENTSOF(local); i++) {
		size_t n = strlen(local[i].prefix);
		if (strncmp(source, local[i].prefix, n) != 0)
			continue;
		int r = local[i].open(source + n, &p->store, &p->object);
		if (r < 0)
			return r;
		p->layout = !local[i].docker;
		p->docker_archive = local[i].docker;
		/* A layout holds bundles as the referrers tag schema; a docker-archive none. */
		if (p->layout)
			p->store.fetch_bundles = referrers_store_bundles;
		p->name = strdup(source);
		return p->name ? 0 : -ENOMEM;
	}
	if (strncmp(source, "oci:", 4) != 0) {
		log_error("Unknown source '%s': use oci:REF, oci-layout:DIR[:TAG], oci-archive:FILE[:TAG] or "
			  "docker-archive:FILE[:REF]",
			  source);
		return -EINVAL;
	}

	int r = reference_parse(source + 4, &p->ref);
	if (r == -EINVAL)
		log_error("Invalid image reference '%s': expected [HOST[:PORT]/]PATH[:TAG][@sha256:HEX] in lowercase",
			  source + 4);
	if (r < 0)
		return r;

	/* libcurl's global state must exist before any thread uses it. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return log_error_errno(-EIO, "Failed to initialize libcurl");
	p->curl_initialized = true;
	r = registry_open(&p->ref, opts, &p->registry);
	if (r < 0)
		return r;
	registry_manifest_store(p->registry, &p->store);
	p->object = strdup(reference_object(&p->ref));
	if (asprintf(&p->name, "%s/%s%s%s", p->ref.registry, p->ref.repository, p->ref.digest ? "@" : ":",
		     reference_object(&p->ref)) < 0)
		p->name = NULL;
	return p->object && p->name ? 0 : -ENOMEM;
}

/* Before any layer byte: a refusal leaves nothing written. */
static int check_signature(struct pull *p, const struct policy *policy)
{
	if (!policy)
		return 0;
	p->policy_file = strdup(policy->file);
	if (!p->policy_file)
		return -ENOMEM;
	struct identity_ref image;
	if (p->registry &&
	    identity_ref_from_parts(p->ref.registry, p->ref.repository, p->ref.tag, p->ref.digest, &image) < 0)
		return log_error_errno(-EACCES, "Refusing %s: its name is not one the policy %s can match", p->name,
				       policy->file);
	return signature_check(policy, &p->store, p->registry ? &image : NULL, p->name, p->digest,
			       pull_source_index_digest(p->src), &p->verdict);
}

int pull_open(const char *source, const struct pull_options *opts, struct pull **ret)
{
	struct platform platform = {};
	int r = opts->platform ? platform_parse(opts->platform, &platform) : platform_native(&platform);
	if (r == -EINVAL) {
		log_error("--platform wants OS/ARCH[/VARIANT], e.g. linux/arm64/v8, not '%s'", opts->platform);
		return r;
	}
	if (r < 0)
		return log_error_errno(r, "Cannot tell this machine's platform: %m");

	struct pull *p = calloc(1, sizeof(*p));
	if (!p) {
		platform_done(&platform);
		return -ENOMEM;
	}
	p->progress = progress_new(opts->progress);
	r = p->progress ? open_store(p, source, &opts->registry) : -ENOMEM;
	if (r >= 0)
		r = pull_source_new(&p->store, p->object, &platform, opts->platform != NULL, p->progress, &p->src,
				    p->digest);
	platform_done(&platform);
	p->require_signed_root_hash = opts->require_signed_root_hash;
	if (r >= 0)
		r = check_signature(p, opts->policy);
	if (r < 0) {
		progress_end(p->progress, r); /* JSON readers get a verdict either way */
		pull_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

struct pull *pull_free(struct pull *p)
{
	if (!p)
		return NULL;
	pull_source_free(p->src);
	if (p->layout)
		oci_layout_close(&p->store);
	if (p->docker_archive)
		docker_archive_close(&p->store);
	registry_free(p->registry);
	reference_done(&p->ref);
	progress_free(p->progress);
	free(p->object);
	free(p->name);
	free(p->policy_file);
	free(p->reused_from);
	if (p->curl_initialized)
		curl_global_cleanup();
	free(p);
	return NULL;
}

const char *pull_digest(const struct pull *p)
{
	return p->digest;
}
const char *pull_name(const struct pull *p)
{
	return p->name;
}
const char *pull_signed_by(const struct pull *p)
{
	return p->verdict.signed_by[0] ? p->verdict.signed_by : NULL;
}
const char *pull_signature_format(const struct pull *p)
{
	return p->verdict.format;
}
bool pull_root_hash_binds(const struct pull *p)
{
	return p->require_signed_root_hash || p->verdict.n_root_hashes > 0;
}
const char *pull_policy_file(const struct pull *p)
{
	return p->policy_file;
}
size_t pull_n_layers(const struct pull *p)
{
	return p->src->n_layers;
}

uint64_t pull_layer_bytes(const struct pull *p)
{
	uint64_t total = 0;
	for (size_t i = 0; i < p->src->n_layers; i++)
		total = add_sat_u64(total, p->src->layer_size(p->src, i)); /* claimed sizes: may be hostile */
	return total;
}

uint64_t pull_reread_bytes(const struct pull *p, const struct build_options *opts)
{
	return p->registry ? build_image_reread_bytes(p->src, opts) : 0; /* only a registry's are kept */
}

uint64_t pull_bytes_received(const struct pull *p)
{
	return pull_source_bytes_received(p->src);
}

static void on_reuse(void *userdata, size_t layers, uint64_t bytes, const char *from)
{
	struct pull *p = userdata;
	progress_reused(p->progress, layers, bytes, from);
}

/* The built image against the root hashes its signatures carry, before
 * the caller commits anything: a refused image is removed at once. */
static int check_root_hash(struct pull *p, const struct verity_record *v, const char *output_path,
			   const char *index_path)
{
	char root[2 * VERITY_DIGEST_SIZE + 1], build[BUILD_RECORD_STRING_MAX];
	verity_hex(v->root_hash, sizeof(v->root_hash), root);
	build_record_string(&p->record, build);
	int r = signature_check_root_hash(&p->verdict, p->require_signed_root_hash, p->name, root, build);
	if (r < 0) {
		(void) unlink(output_path);
		if (index_path)
			(void) unlink(index_path);
	}
	return r;
}

int pull_build(struct pull *p, const char *output_path, const struct build_options *opts, struct build_stats *stats)
{
	/* Layers read twice are kept beside the output: the same file system,
	 * the temp space the caller already gave the build. */
	_cleanup_free_ char *dir = strdup(output_path);
	if (!dir || pull_source_spool_in(p->src, dirname(dir)) < 0)
		return -ENOMEM;
	struct build_options o;
	if (opts)
		o = *opts;
	else
		build_options_init(&o);
	o.on_reuse = on_reuse;
	o.on_reuse_userdata = p;
	struct build_stats st = {};
	progress_begin(p->progress, p->name, p->digest, p->src->n_layers, pull_layer_bytes(p));
	p->record.format = 0;
	int r = build_image_squashfs(p->src, output_path, &o, &st);
	if (r >= 0)
		r = build_record_init(&p->record, &o, &st);
	if (r >= 0)
		r = check_root_hash(p, &st.verity, output_path, o.index_path);
	p->verity = r >= 0 ? st.verity : (struct verity_record){ 0 };
	(void) pull_source_spool_in(p->src, NULL); /* its space back at once */
	if (r >= 0) {
		p->reused_bytes = st.reused_bytes;
		free(p->reused_from);
		p->reused_from = st.reused_from ? strdup(st.reused_from) : NULL;
		if (st.reused_from && !p->reused_from)
			r = -ENOMEM;
	}
	if (stats)
		*stats = st;
	progress_set_bytes(p->progress, pull_bytes_received(p));
	progress_end(p->progress, r);
	return r;
}

const char *pull_layer_digest(const struct pull *p, size_t index)
{
	return p->src->layer_digest(p->src, index);
}

uint64_t pull_reused_bytes(const struct pull *p)
{
	return p->reused_bytes;
}

const char *pull_reused_from(const struct pull *p)
{
	return p->reused_from;
}

const struct build_record *pull_build_record(const struct pull *p)
{
	return p->record.format ? &p->record : NULL;
}

const struct verity_record *pull_verity(const struct pull *p)
{
	return p->verity.data_blocks > 0 ? &p->verity : NULL;
}

const char *pull_created(const struct pull *p)
{
	return pull_source_created(p->src);
}

const char *pull_version(const struct pull *p)
{
	return pull_source_version(p->src);
}
