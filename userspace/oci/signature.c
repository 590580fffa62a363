/* SPDX-License-Identifier: Apache-2.0 */
#include "signature.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "durable.h"
#include "log.h"
#include "membuf.h"
#include "referrers.h"
#include "simple_signing.h"
#include "util.h"

/* One layer of the signature manifest: a signature and where its payload is. */
struct sig_layer {
	struct descriptor d;
	const char *signature; /* the annotation, inside the manifest's JSON */
	char *payload;         /* fetched on first use */
	size_t size;
	int fetched; /* 0: not yet, 1: payload holds it, <0: the fetch failed */
};

struct sig_set {
	json_t *root;
	struct sig_layer *layers;
	size_t n;
};

static void sig_set_done(struct sig_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->layers[i].payload);
	free(s->layers);
	json_decref(s->root);
	*s = (struct sig_set){};
}

/* Appends the layers of the manifest at sha256-<hex>.sig (none when there
 * is no such tag): -E2BIG over a bound, -EBADMSG when it is not a manifest
 * we can read. */
static int sig_set_load(const struct manifest_store *store, const char *digest, struct sig_set *set)
{
	char tag[DIGEST_STRING_MAX + 8];
	snprintf(tag, sizeof(tag), "sha256-%s.sig", digest + strlen("sha256:"));
	_cleanup_free_ char *body = NULL, *type = NULL;
	size_t size = 0;
	char got[DIGEST_STRING_MAX];
	int r = store->fetch_manifest(store->ctx, tag, MANIFEST_MAY_BE_MISSING, &body, &size, &type, got);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;

	json_error_t error;
	json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, &error);
	json_t *layers = json_object_get(root, "layers");
	/* Kept for the strings the layers point into; freed with the set. */
	if (root && json_array_append_new(set->root, root) < 0)
		return -ENOMEM;
	if (!json_is_array(layers))
		return log_error_errno(-EBADMSG, "Signature manifest %s in %s is malformed (no layers)", tag,
				       store->name);
	size_t n = json_array_size(layers);
	if (n > SIGNATURE_LAYERS_MAX)
		return log_error_errno(-E2BIG,
				       "Signature manifest %s in %s has %zu signatures, more than the %u we read", tag,
				       store->name, n, SIGNATURE_LAYERS_MAX);
	struct sig_layer *grown = realloc(set->layers, (set->n + n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	set->layers = grown;
	for (size_t i = 0; i < n; i++) {
		json_t *l = json_array_get(layers, i);
		struct sig_layer *s = &set->layers[set->n++];
		*s = (struct sig_layer){};
		const char *d = json_string_value(json_object_get(l, "digest"));
		json_t *sz = json_object_get(l, "size");
		if (!d || !digest_is_valid(d) || !json_is_integer(sz) || json_integer_value(sz) < 0)
			return log_error_errno(-EBADMSG, "Signature manifest %s in %s: layer %zu is malformed", tag,
					       store->name, i);
		s->d.digest = (char *) d;
		s->d.media_type = (char *) json_string_value(json_object_get(l, "mediaType"));
		s->d.size = (uint64_t) json_integer_value(sz);
		s->signature = json_string_value(
			json_object_get(json_object_get(l, "annotations"), SIMPLE_SIGNING_ANNOTATION));
		/* Refused whole, before any byte of it: judging an image on the
		 * signatures that fit would let a big one hide a valid one. */
		if (s->d.size > SIMPLE_SIGNING_PAYLOAD_MAX)
			return log_error_errno(-E2BIG,
					       "Signature manifest %s in %s: layer %s claims %llu bytes, more than the "
					       "%u a signature payload may have",
					       tag, store->name, d, (unsigned long long) s->d.size,
					       SIMPLE_SIGNING_PAYLOAD_MAX);
	}
	return 0;
}

static int sig_layer_payload(const struct manifest_store *store, struct sig_layer *s)
{
	if (s->fetched)
		return s->fetched < 0 ? s->fetched : 0;
	struct membuf m = MEMBUF_INIT(SIMPLE_SIGNING_PAYLOAD_MAX);
	int r = store->produce_blob(store->ctx, &s->d, membuf_sink, &m); /* verified by digest and size */
	if (r < 0) {
		membuf_done(&m);
		s->fetched = r;
		return r;
	}
	s->payload = membuf_steal(&m, &s->size);
	s->fetched = s->payload ? 1 : -ENOMEM;
	return s->fetched < 0 ? s->fetched : 0;
}

/* A key of the policy: inline (keyData) or a file (keyPath), read bounded. */
static int load_key(const struct policy *policy, const struct policy_key *k, struct trust_key **ret)
{
	if (k->pem)
		return trust_key_from_pem(k->pem, k->pem_size, ret);
	_cleanup_free_ char *buf = malloc(TRUST_KEY_PEM_MAX + 1);
	size_t len = 0;
	if (!buf)
		return -ENOMEM;
	int r = read_file_bounded(k->path, buf, TRUST_KEY_PEM_MAX + 1, &len);
	if (r < 0)
		return log_error_errno(r, "Cannot read the key %s that the policy %s names: %m", k->path, policy->file);
	if (len > TRUST_KEY_PEM_MAX)
		return log_error_errno(-E2BIG, "The key %s that the policy %s names is too big to be a key", k->path,
				       policy->file);
	r = trust_key_from_pem(buf, len, ret);
	if (r < 0)
		log_error("The key %s that the policy %s names is not a PEM public key we accept (ECDSA P-256/P-384, "
			  "RSA 2048-8192, Ed25519)",
			  k->path, policy->file);
	return r;
}

/* Why the best candidate failed, for the refusal: the most telling wins. */
enum miss {
	MISS_NONE,     /* no signature at all */
	MISS_KEY,      /* signatures, none by a trusted key */
	MISS_PAYLOAD,  /* a trusted key's signature over a malformed payload */
	MISS_DIGEST,   /* signed, for another image */
	MISS_IDENTITY, /* signed, for this image, under another name */
	MISS_NAMELESS, /* a bundle for this image, naming no repository, under a rule that needs one */
};

static void note(enum miss *m, enum miss seen)
{
	if (seen > *m)
		*m = seen;
}

static const char *miss_text(enum miss m)
{
	switch (m) {
	case MISS_NONE:
		return "no signature";
	case MISS_KEY:
		return "no valid signature";
	case MISS_PAYLOAD:
		return "a malformed signature payload and no valid signature";
	case MISS_DIGEST:
		return "signatures for other images only, no signature of this one";
	case MISS_IDENTITY:
		return "signatures naming another repository only, no signature of this one";
	default:
		return "a bundle that names no repository (the policy's signedIdentity needs one) and no other "
		       "signature";
	}
}

/* Whether a verified bundle's subject name fits the image under rule, as a
 * classic docker-reference would. The bundle binds the digest, so its
 * subject reads as NAME@DIGEST, and the image counts as pulled by that
 * digest for the rules that accept one (matchRepoDigestOrExact,
 * remapIdentity). cosign 3 writes no name: the digest alone pins the
 * image, enough for the default rule only (every other one names a
 * repository to compare). */
static bool bundle_identity_ok(const struct identity_rule *rule, const struct identity_ref *image,
			       const struct bundle_result *b, const char *referrer, enum miss *miss)
{
	if (!image)
		return true; /* a local image: no repository to compare, as for a classic signature */
	const char *type = identity_rule_type_to_string(rule->type);
	if (!b->identity) {
		if (rule->type == IDENTITY_MATCH_REPO_DIGEST_OR_EXACT)
			return true;
		log_info("Bundle %s names no repository; the policy's signedIdentity (%s) needs one", referrer, type);
		note(miss, MISS_NAMELESS);
		return false;
	}
	/* The subject is a name and a digest: together, "NAME@DIGEST". */
	char claimed[IDENTITY_REF_STRING_MAX];
	struct identity_ref sig;
	int n = snprintf(claimed, sizeof(claimed), "%s", b->identity);
	if (identity_ref_parse(b->identity, &sig) >= 0 && identity_ref_is_name_only(&sig))
		n = snprintf(claimed, sizeof(claimed), "%s@%s", b->identity, b->digest);
	struct identity_ref pinned = *image;
	if (rule->type == IDENTITY_MATCH_REPO_DIGEST_OR_EXACT || rule->type == IDENTITY_REMAP) {
		pinned.tag[0] = '\0';
		snprintf(pinned.digest, sizeof(pinned.digest), "%s", b->digest);
	}
	/* Cut short, it could read as another reference. */
	if (n >= 0 && (size_t) n < sizeof(claimed) && identity_matches(rule, &pinned, claimed))
		return true;
	log_info("Bundle %s names %s, which the policy's signedIdentity (%s) does not accept for this image", referrer,
		 b->identity, type);
	note(miss, MISS_IDENTITY);
	return false;
}

/* cosign 3's bundles for one requirement's keys: 0 and *fingerprint when
 * one verifies and names this image. */
static int check_bundles(const struct policy_requirement *req, const struct referrer_bundles *bundles,
			 struct trust_key *const *keys, size_t n_keys, const struct identity_ref *image,
			 const char *const *expected, char fingerprint[static TRUST_FINGERPRINT_SIZE], enum miss *miss)
{
	for (size_t i = 0; i < bundles->n; i++) {
		const struct referrer_bundle *b = &bundles->items[i];
		note(miss, MISS_KEY);
		for (size_t k = 0; k < n_keys; k++) {
			_cleanup_(bundle_result_done) struct bundle_result res = {};
			int v = bundle_verify(b->data, b->size, keys[k], expected, &res);
			if (v == -EBADMSG || v == -E2BIG)
				note(miss, MISS_PAYLOAD);
			else if (v == -EXDEV)
				note(miss, MISS_DIGEST);
			else if (v == 0 && bundle_identity_ok(&req->signed_identity, image, &res, b->referrer, miss)) {
				snprintf(fingerprint, TRUST_FINGERPRINT_SIZE, "%s", trust_key_fingerprint(keys[k]));
				return 0;
			}
			if (v != -EKEYREJECTED)
				break; /* this key's: no other key makes it better */
		}
	}
	return -EACCES;
}

/* An accepted signature's root hash into v, once per distinct hash:
 * -E2BIG (logged) past SIGNATURE_ROOT_HASHES_MAX. */
static int add_root_hash(struct signature_verdict *v, const struct simple_signing *ss, const char *layer)
{
	for (size_t i = 0; i < v->n_root_hashes; i++)
		if (streq(v->root_hashes[i].hash, ss->verity_root_hash))
			return 0;
	if (v->n_root_hashes == SIGNATURE_ROOT_HASHES_MAX)
		return log_error_errno(-E2BIG, "Signature %s carries a root hash past the %u distinct ones we read",
				       layer, SIGNATURE_ROOT_HASHES_MAX);
	struct signature_root_hash *h = &v->root_hashes[v->n_root_hashes++];
	snprintf(h->hash, sizeof(h->hash), "%s", ss->verity_root_hash);
	snprintf(h->build, sizeof(h->build), "%s", ss->verity_build);
	return 0;
}

/* One sigstoreSigned requirement: 0 and *fingerprint when a signature by
 * one of its keys names this image (*format says which kind); bundles
 * (NULL: not looked at) after the classic signatures. */
static int check_requirement(const struct policy *policy, const struct policy_requirement *req,
			     const struct manifest_store *store, struct sig_set *set,
			     const struct referrer_bundles *bundles, const struct identity_ref *image,
			     const char *const *expected, char fingerprint[static TRUST_FINGERPRINT_SIZE],
			     const char **format, struct signature_verdict *verdict, enum miss *miss)
{
	struct trust_key *keys[POLICY_KEYS_MAX] = {};
	size_t n_keys = 0;
	int r = 0;
	for (size_t k = 0; k < req->n_keys && k < POLICY_KEYS_MAX; k++) {
		r = load_key(policy, &req->keys[k], &keys[n_keys]);
		if (r < 0)
			goto out;
		n_keys++;
	}

	r = -EACCES;
	/* Past the first accepted signature too: the root hashes the others
	 * pin the image to count as well (signature.h). */
	for (size_t i = 0; i < set->n; i++) {
		struct sig_layer *s = &set->layers[i];
		if (!streq_ptr(s->d.media_type, SIMPLE_SIGNING_MEDIA_TYPE) || !s->signature)
			continue;
		note(miss, MISS_KEY);
		if (sig_layer_payload(store, s) < 0)
			continue; /* logged by the store */
		bool accepted = false;
		int added = 0;
		for (size_t k = 0; k < n_keys; k++) {
			struct simple_signing ss = {};
			int v = simple_signing_verify(s->payload, s->size, s->signature, keys[k], expected, &ss);
			if (v == -EBADMSG || v == -E2BIG)
				note(miss, MISS_PAYLOAD);
			else if (v == -EXDEV)
				note(miss, MISS_DIGEST);
			else if (v == 0 && image &&
				 !identity_matches(&req->signed_identity, image, ss.docker_reference)) {
				log_info(
					"Signature %s names %s, which the policy's signedIdentity (%s) does not accept "
					"for this image",
					s->d.digest, ss.docker_reference,
					identity_rule_type_to_string(req->signed_identity.type));
				note(miss, MISS_IDENTITY);
			} else if (v == 0) {
				/* A local image has no repository to compare the signed one with. */
				if (r < 0)
					snprintf(fingerprint, TRUST_FINGERPRINT_SIZE, "%s",
						 trust_key_fingerprint(keys[k]));
				r = 0;
				accepted = true;
				if (ss.verity_root_hash[0])
					added = add_root_hash(verdict, &ss, s->d.digest);
			}
			simple_signing_done(&ss);
			if (added < 0) {
				r = added;
				goto out;
			}
			if (accepted)
				break;
		}
	}
	*format = "cosign";
	if (r < 0 && bundles) {
		r = check_bundles(req, bundles, keys, n_keys, image, expected, fingerprint, miss);
		*format = "bundle";
	}
out:
	for (size_t k = 0; k < n_keys; k++)
		trust_key_free(keys[k]);
	return r;
}

/* Every sigstoreSigned requirement of reqs by the signatures in set:
 * 0 (ret->signed_by the first one's key), -EACCES (*miss says why), or
 * another refusal already logged (a key that cannot be used). */
static int check_requirements(const struct policy *policy, const struct policy_requirements *reqs,
			      const struct manifest_store *store, struct sig_set *set,
			      const struct referrer_bundles *bundles, const struct identity_ref *image,
			      const char *const *expected, struct signature_verdict *ret, enum miss *miss)
{
	ret->signed_by[0] = '\0';
	ret->n_root_hashes = 0;
	for (size_t i = 0; i < reqs->n_items; i++) {
		const struct policy_requirement *req = &reqs->items[i];
		if (req->type != POLICY_SIGSTORE_SIGNED)
			continue;
		char fp[TRUST_FINGERPRINT_SIZE] = "";
		const char *format = NULL;
		int r = check_requirement(policy, req, store, set, bundles, image, expected, fp, &format, ret, miss);
		if (r == -EACCES || r == -E2BIG)
			return r;
		if (r < 0) {
			log_error_errno(r, "A key of the policy %s cannot be used (%m): refusing every image it covers",
					policy->file);
			return -EKEYREJECTED;
		}
		if (!ret->signed_by[0]) {
			memcpy(ret->signed_by, fp, sizeof(fp));
			ret->format = format;
		}
	}
	return 0;
}

/* The bundles referring to the digests in order (none when the store
 * keeps none). */
static int load_bundles(const struct manifest_store *store, const char *const order[static 2],
			struct referrer_bundles *ret)
{
	if (!store->fetch_bundles)
		return 0;
	const char *subjects[] = { order[0], order[1], NULL };
	return store->fetch_bundles(store, subjects, ret);
}

/* What was wrong is logged by the reader; -E2BIG's text would mislead. */
static int refuse_unreadable(const char *what, int r, const struct policy *policy, const char *name, const char *digest,
			     const char *scope)
{
	log_error("Refusing %s (%s): its %s could not be read%s; the policy %s requires a signature for %s", name,
		  digest, what, r == -E2BIG ? " (over a bound)" : "", policy->file, scope);
	return r == -E2BIG ? r : -EACCES;
}

int signature_check(const struct policy *policy, const struct manifest_store *store, const struct identity_ref *image,
		    const char *name, const char *digest, const char *index_digest, struct signature_verdict *ret)
{
	*ret = (struct signature_verdict){};
	char scope[IDENTITY_REF_STRING_MAX] = "local images";
	if (image)
		identity_ref_name(image, scope, sizeof(scope));
	/* A local source has no registry identity: the policy's default. */
	const struct policy_requirements *reqs = image ? policy_lookup_docker(policy, image) : &policy->fallback;
	bool need;
	const char *why;
	int r = policy_requirements_check(reqs, &need, &why);
	if (r < 0)
		return log_error_errno(-EACCES, "Refusing %s (%s): %s, says the policy %s for %s", name, digest,
				       why ?: "refused", policy->file, scope);
	if (!need)
		return 0;

	/* The signatures of what the reference named first (the index, when
	 * there is one: what `cosign sign REF` signs), then of the platform's
	 * manifest only if those do not do: a signed image never looks up a
	 * tag that is not there. */
	_cleanup_(sig_set_done) struct sig_set set = { .root = json_array() };
	if (!set.root)
		return -ENOMEM;
	const char *expected[] = { digest, index_digest, NULL };
	const char *order[] = { index_digest ?: digest, index_digest ? digest : NULL };
	enum miss miss = MISS_NONE;
	_cleanup_(referrer_bundles_done) struct referrer_bundles bundles = {};
	for (size_t o = 0; o < ELEMENTSOF(order) && order[o]; o++) {
		r = sig_set_load(store, order[o], &set);
		if (r < 0)
			return refuse_unreadable("signatures", r, policy, name, digest, scope);
		r = check_requirements(policy, reqs, store, &set, NULL, image, expected, ret, &miss);
		if (r == 0)
			break;
		if (r != -EACCES)
			return r == -E2BIG ? r : -EACCES; /* logged */
		if (o + 1 < ELEMENTSOF(order) && order[o + 1])
			continue;
		/* No classic signature does: cosign 3's bundles, looked up only
		 * now, so an image signed the classic way costs no more requests. */
		r = load_bundles(store, order, &bundles);
		if (r < 0)
			return refuse_unreadable("bundles", r, policy, name, digest, scope);
		r = check_requirements(policy, reqs, store, &set, &bundles, image, expected, ret, &miss);
		if (r == 0)
			break;
		if (r != -EACCES)
			return -EACCES; /* logged */
		return log_error_errno(r,
				       "Refusing %s (%s): %s by a key the policy %s trusts for %s (sign it with cosign "
				       "sign --key, or see kairos-upgrade status)",
				       name, digest, miss_text(miss), policy->file, scope);
	}
	log_info("%s (%s) is signed by key %.16s (%s), as the policy %s requires", name, digest, ret->signed_by,
		 ret->format, policy->file);
	return 0;
}

int signature_check_root_hash(const struct signature_verdict *v, bool require, const char *name, const char *root_hash,
			      const char *build)
{
	if (v->n_root_hashes == 0) {
		if (!require)
			return 0;
		if (!v->signed_by[0])
			return log_error_errno(
				-EACCES,
				"Refusing %s: a signed dm-verity root hash is required, and no signature "
				"was checked (the signature policy does not require one for it)",
				name);
		return log_error_errno(-EACCES,
				       "Refusing %s: it is signed (key %.16s, %s) but its signature carries no "
				       "dm-verity root hash; the policy requires one (sign it with kairos-upgrade "
				       "sign --verity)",
				       name, v->signed_by, v->format ?: "cosign");
	}
	for (size_t i = 0; i < v->n_root_hashes; i++)
		if (streq(v->root_hashes[i].hash, root_hash)) {
			log_info("%s: the image's dm-verity root hash %s is the signed one", name, root_hash);
			return 0;
		}
	/* The first signed one names what to do; the others are listed. */
	const struct signature_root_hash *h = &v->root_hashes[0];
	if (!streq(h->build, build))
		log_error("Refusing %s: its dm-verity root hash %s is not the signed %s%s: signed for %s; this node "
			  "built with %s: build with the publisher's settings (--compression, --prescan) and "
			  "libraries, or have the image signed for this node's",
			  name, root_hash, h->hash, v->n_root_hashes > 1 ? " (nor any other signed one)" : "", h->build,
			  build);
	else
		log_error("Refusing %s: its dm-verity root hash %s is not the signed %s%s, although it was built "
			  "with the signed settings (%s): the layers or the builder differ from the publisher's",
			  name, root_hash, h->hash, v->n_root_hashes > 1 ? " (nor any other signed one)" : "", build);
	for (size_t i = 1; i < v->n_root_hashes; i++)
		log_info("Also signed: root hash %s, built with %s", v->root_hashes[i].hash, v->root_hashes[i].build);
	return -EACCES;
}
