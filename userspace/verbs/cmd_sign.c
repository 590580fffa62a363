/* SPDX-License-Identifier: Apache-2.0 */
/* kairos-upgrade sign --key FILE REF: cosign's classic signature (what
 * `cosign sign --key` wrote before cosign 3), for users without cosign and
 * for the tests. REF is resolved as pull resolves it; the simple-signing
 * payload is signed with a cosign encrypted key file or a PEM private key,
 * and the signature image at tag sha256-HEX.sig in the same repository
 * gets one more layer (created if absent, appended to as cosign does). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "cosign_key.h"
#include "durable.h"
#include "key.h"
#include "log.h"
#include "manifest.h"
#include "pull.h"
#include "pull_source.h"
#include "reference.h"
#include "registry.h"
#include "registry_push.h"
#include "simple_signing.h"
#include "source_args.h"
#include "util.h"
#include "verity_record.h"

/* cosign's signature image: an OCI manifest whose config is the empty
 * image config go-containerregistry's mutate.Append writes. */
#define SIGN_ZERO_TIME "0001-01-01T00:00:00Z"
/* Appending to a signature image of more layers than this is refused: no
 * verifier reads that many, and it is what a hostile registry would serve. */
#define SIGN_LAYERS_MAX 1000u
#define SIGN_ANNOTATIONS_MAX 64u
#define SIGN_PASSWORD_MAX 1024u

struct sign_args {
	struct source_args src; /* --platform, --creds, --insecure, --ca-file, --stall-timeout */
	const char *key_file;
	const char *ref;
	const char *identity; /* --identity: the payload's docker-reference, if not REF's repository */
	struct simple_signing_annotation annotations[SIGN_ANNOTATIONS_MAX];
	char *annotation_buf[SIGN_ANNOTATIONS_MAX];
	size_t n_annotations;
	/* The dm-verity root hash to sign (issue 17): built here (--verity) or given. */
	bool verity;
	const char *verity_root_hash, *verity_build;
	char built_root_hash[64 + 1], built_build[BUILD_RECORD_STRING_MAX];
	char built_digest[DIGEST_STRING_MAX]; /* the manifest that was built */
};

enum {
	SIGN_ARG_IDENTITY = SOURCE_ARG_LAST,
	SIGN_ARG_VERITY,
	SIGN_ARG_VERITY_ROOT_HASH,
	SIGN_ARG_VERITY_BUILD,
};

static void sign_help(void)
{
	printf("Usage: kairos-upgrade sign --key FILE [OPTIONS] [oci:]REF\n"
	       "\n"
	       "Sign an image in a registry the way `cosign sign --key FILE REF` does in its\n"
	       "classic format: a simple-signing payload naming REF's repository and manifest\n"
	       "digest, signed with the key, pushed as one more layer (media type\n"
	       "application/vnd.dev.cosign.simplesigning.v1+json, the base64 signature in its\n"
	       "annotation dev.cosignproject.cosign/signature) of the signature image at tag\n"
	       "sha256-HEX.sig in the same repository. An existing signature image keeps its\n"
	       "signatures: the new one is appended. Nodes check it with a policy file\n"
	       "(containers-policy.json, sigstoreSigned) listing the public key.\n"
	       "\n"
	       "Key-based only: no Fulcio certificates, no Rekor transparency log, no\n"
	       "Sigstore bundles (cosign 3 writes those by default; both are verified).\n"
	       "\n"
	       "REF is [HOST[:PORT]/]PATH[:TAG][@sha256:HEX]. A tag naming a multi-platform\n"
	       "index signs the index's digest (what `cosign sign` signs; nodes accept it for\n"
	       "every platform); --platform signs that platform's manifest instead.\n"
	       "\n"
	       "Options:\n"
	       "  -k, --key FILE          the private key: cosign's encrypted key file\n"
	       "                          (cosign generate-key-pair: ENCRYPTED SIGSTORE PRIVATE KEY\n"
	       "                          or ENCRYPTED COSIGN PRIVATE KEY), or a PEM PRIVATE KEY\n"
	       "                          or EC PRIVATE KEY (ECDSA P-256/P-384, RSA, Ed25519)\n"
	       "  -a, --annotation KEY=VALUE\n"
	       "                          into the payload's \"optional\", as cosign sign -a\n"
	       "                          (repeatable)\n"
	       "      --platform OS/ARCH[/VARIANT]\n"
	       "                          sign this platform's manifest of an index, not the index\n"
	       "      --identity HOST[:PORT]/PATH\n"
	       "                          the repository the payload names (its docker-reference),\n"
	       "                          when nodes pull through another name than the one signed\n"
	       "                          through (a mirror, a proxy, a VM's view of the host), as\n"
	       "                          cosign sign --sign-container-identity\n"
	       "      --creds USER:PASS   registry credentials that may push (default:\n"
	       "                          $REGISTRY_AUTH_FILE or ~/.docker/config.json)\n"
	       "      --insecure          allow plain HTTP and unverified TLS for this registry\n"
	       "      --ca-file FILE      trust this CA bundle for the registry's TLS\n"
	       "      --stall-timeout SECONDS\n"
	       "                          give up on a transfer slower than 1 KiB/s this long\n"
	       "      --verity            build the image as a node does (same builder, same\n"
	       "                          defaults, or --compression/--prescan as given to the\n"
	       "                          nodes' pull and upgrade) in a temporary directory under\n"
	       "                          $TMPDIR (else /var/tmp), and sign its dm-verity root\n"
	       "                          hash and build settings into the payload's optional\n"
	       "                          (dev.kairos.verity.root_hash, dev.kairos.verity.build):\n"
	       "                          a node refuses, before its commit, an image it built\n"
	       "                          otherwise. Needs no root; takes as long as a node's\n"
	       "                          build (--progress shows it). One platform's image: a\n"
	       "                          multi-platform index needs --platform\n"
	       "      --compression ALG[:LEVEL], --prescan=auto|always|never, --threads N,\n"
	       "      --progress=MODE     for --verity: as pull and upgrade take them\n"
	       "      --verity-root-hash HEX --verity-build SETTINGS\n"
	       "                          sign a root hash computed elsewhere, without building:\n"
	       "                          HEX from .verity.root_hash and SETTINGS from\n"
	       "                          .build.settings of the image's .json (pull's FILE.json,\n"
	       "                          a node's images/<id>.json); both or neither\n"
	       "  -h, --help              show this help\n"
	       "\n"
	       "Environment:\n"
	       "  COSIGN_PASSWORD         the encrypted key's password, as cosign reads it (may be\n"
	       "                          empty); unset: asked for on the terminal\n");
}

static void sign_args_done(struct sign_args *a)
{
	for (size_t i = 0; i < a->n_annotations; i++)
		free(a->annotation_buf[i]);
}

static int add_annotation(struct sign_args *a, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return log_error_errno(-EINVAL, "-a wants KEY=VALUE, not '%s'", arg);
	if (strncmp(arg, "dev.kairos.verity.", strlen("dev.kairos.verity.")) == 0)
		return log_error_errno(-EINVAL,
				       "-a %.*s: the signed root hash is written by --verity or --verity-root-hash "
				       "and --verity-build, which check it",
				       (int) (eq - arg), arg);
	if (a->n_annotations == SIGN_ANNOTATIONS_MAX)
		return log_error_errno(-E2BIG, "At most %u annotations (-a)", SIGN_ANNOTATIONS_MAX);
	for (size_t i = 0; i < a->n_annotations; i++)
		if (strlen(a->annotations[i].key) == (size_t) (eq - arg) &&
		    strncmp(a->annotations[i].key, arg, eq - arg) == 0)
			return log_error_errno(-EINVAL, "Annotation %.*s given twice (-a)", (int) (eq - arg), arg);
	char *buf = strdup(arg);
	if (!buf)
		return -ENOMEM;
	buf[eq - arg] = '\0';
	a->annotation_buf[a->n_annotations] = buf;
	a->annotations[a->n_annotations++] = (struct simple_signing_annotation){ buf, buf + (eq - arg) + 1 };
	return 0;
}

/* --identity is a repository: what matchRepository and remapIdentity
 * compare on a node. A tag or digest in it would never match. */
static int check_identity(const char *s)
{
	struct image_reference ref = {};
	int r = reference_parse(s, &ref);
	bool bare = r >= 0 && !ref.digest && !strchr(s + (strrchr(s, '/') ? strrchr(s, '/') - s : 0), ':');
	reference_done(&ref);
	if (r < 0 || !bare || !strchr(s, '/'))
		return log_error_errno(-EINVAL,
				       "--identity wants a repository, HOST[:PORT]/PATH without tag or digest, "
				       "not '%s'",
				       s);
	return 0;
}

static int parse_args(int argc, char **argv, struct sign_args *a)
{
	static const struct option options[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "annotation", required_argument, NULL, 'a' },
		{ "identity", required_argument, NULL, SIGN_ARG_IDENTITY },
		{ "platform", required_argument, NULL, SOURCE_ARG_PLATFORM },
		{ "creds", required_argument, NULL, SOURCE_ARG_CREDS },
		{ "insecure", no_argument, NULL, SOURCE_ARG_INSECURE },
		{ "ca-file", required_argument, NULL, SOURCE_ARG_CA_FILE },
		{ "stall-timeout", required_argument, NULL, SOURCE_ARG_STALL_TIMEOUT },
		{ "compression", required_argument, NULL, SOURCE_ARG_COMPRESSION },
		{ "prescan", required_argument, NULL, SOURCE_ARG_PRESCAN },
		{ "threads", required_argument, NULL, SOURCE_ARG_THREADS },
		{ "progress", required_argument, NULL, SOURCE_ARG_PROGRESS },
		{ "verity", no_argument, NULL, SIGN_ARG_VERITY },
		{ "verity-root-hash", required_argument, NULL, SIGN_ARG_VERITY_ROOT_HASH },
		{ "verity-build", required_argument, NULL, SIGN_ARG_VERITY_BUILD },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	optind = 0;
	int c, r;
	while ((c = getopt_long(argc, argv, "hk:a:", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			sign_help();
			return 0;
		case 'k':
			a->key_file = optarg;
			break;
		case 'a':
			if ((r = add_annotation(a, optarg)) < 0)
				return r;
			break;
		case SIGN_ARG_VERITY:
			a->verity = true;
			break;
		case SIGN_ARG_VERITY_ROOT_HASH:
			if (!simple_signing_root_hash_is_valid(optarg))
				return log_error_errno(-EINVAL,
						       "--verity-root-hash wants 64 lowercase hex digits (the image's "
						       ".json verity.root_hash), not '%.80s'",
						       optarg);
			a->verity_root_hash = optarg;
			break;
		case SIGN_ARG_VERITY_BUILD:
			if (!simple_signing_verity_build_is_valid(optarg))
				return log_error_errno(
					-EINVAL,
					"--verity-build wants 1 to %u printable ASCII chars (the image's "
					".json build.settings)",
					SIMPLE_SIGNING_VERITY_BUILD_MAX);
			a->verity_build = optarg;
			break;
		case SIGN_ARG_IDENTITY:
			if ((r = check_identity(optarg)) < 0)
				return r;
			a->identity = optarg;
			break;
		default:
			/* The options pull has, parsed as pull parses them. */
			r = c >= SOURCE_ARG_PLATFORM && c < SOURCE_ARG_LAST ? source_args_option(c, optarg, &a->src)
									    : 0;
			if (r < 0)
				return r;
			if (r == 0)
				return -EINVAL;
		}
	}
	if (optind + 1 != argc)
		return log_error_errno(-EINVAL, "sign needs exactly one image reference (see sign --help)");
	if (!a->key_file)
		return log_error_errno(-EINVAL, "sign needs --key FILE (see sign --help)");
	if (!a->verity_root_hash != !a->verity_build)
		return log_error_errno(-EINVAL, "--verity-root-hash and --verity-build go together (see sign --help)");
	if (a->verity && a->verity_root_hash)
		return log_error_errno(-EINVAL,
				       "--verity builds the image to compute its root hash; --verity-root-hash gives "
				       "one: not both");
	if (!a->verity && (a->src.compression || a->src.prescan || a->src.threads))
		return log_error_errno(-EINVAL, "--compression, --prescan and --threads are for --verity's build");
	a->ref = argv[optind];
	if (strncmp(a->ref, "oci:", 4) == 0)
		a->ref += 4;
	return 1;
}

/* The password as cosign takes it: $COSIGN_PASSWORD when set (even
 * empty), else typed on the terminal without echo. */
static int read_password(const char *key_file, char **ret)
{
	const char *env = getenv("COSIGN_PASSWORD");
	if (env) {
		*ret = strdup(env);
		return *ret ? 0 : -ENOMEM;
	}
	_cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_error_errno(-ENOKEY,
				       "%s is encrypted and there is no terminal to ask for its password: set "
				       "COSIGN_PASSWORD",
				       key_file);
	char *buf = calloc(1, SIGN_PASSWORD_MAX + 1);
	if (!buf)
		return -ENOMEM;
	struct termios old, quiet;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t) ECHO;
		quiet.c_lflag |= ECHONL;
		(void) tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	dprintf(fd, "Enter password for private key %s: ", key_file);
	size_t n = 0;
	while (n < SIGN_PASSWORD_MAX) {
		ssize_t k = read(fd, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	if (restore)
		(void) tcsetattr(fd, TCSAFLUSH, &old);
	buf[n] = '\0';
	*ret = buf;
	return 0;
}

static void free_secret(char *s)
{
	if (s)
		OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static int load_key(const char *path, struct trust_private_key **ret)
{
	_cleanup_free_ char *pem = malloc(TRUST_KEY_PEM_MAX + 1);
	size_t size = 0;
	if (!pem)
		return -ENOMEM;
	int r = read_file_bounded(path, pem, TRUST_KEY_PEM_MAX + 1, &size);
	if (r < 0)
		return log_error_errno(r, "Cannot read the key file %s: %m", path);
	if (size > TRUST_KEY_PEM_MAX)
		return log_error_errno(-E2BIG, "%s is bigger than any private key (%u bytes at most)", path,
				       TRUST_KEY_PEM_MAX);
	bool encrypted = cosign_key_is_encrypted(pem, size);
	if (encrypted) {
		char *password = NULL;
		r = read_password(path, &password);
		if (r >= 0 && password)
			r = cosign_key_load(pem, size, password, strlen(password), ret);
		free_secret(password);
	} else
		r = trust_private_key_from_pem(pem, size, ret);
	OPENSSL_cleanse(pem, size);
	/* cosign_key.c said what is wrong with the file; this says which file. */
	if (encrypted && r < 0 && r != -ENOKEY)
		return log_error_errno(r, "Cannot use the key file %s%s", path,
				       r == -EKEYREJECTED ? ": its password is read from COSIGN_PASSWORD" : "");
	if (r == -EPROTONOSUPPORT)
		return log_error_errno(r,
				       "%s holds a key we cannot sign with (ECDSA P-256/P-384, RSA 2048-8192 "
				       "and Ed25519 only)",
				       path);
	if (r < 0 && r != -ENOKEY)
		return log_error_errno(r,
				       "%s is not a private key: expected cosign's encrypted key file (ENCRYPTED "
				       "SIGSTORE PRIVATE KEY) or a PEM PRIVATE KEY / EC PRIVATE KEY",
				       path);
	return r;
}

/* The digest to sign, resolved as pull resolves it: a tag of an index is
 * the index (unless --platform), else the image manifest. */
static int resolve_digest(struct registry *reg, const struct image_reference *ref, const char *platform_arg,
			  char ret[static DIGEST_STRING_MAX], bool *ret_index)
{
	_cleanup_free_ char *body = NULL, *content_type = NULL;
	size_t size = 0;
	char top[DIGEST_STRING_MAX];
	int r = registry_fetch_manifest(reg, reference_object(ref), 0, &body, &size, &content_type, top);
	if (r < 0)
		return r;
	struct manifest m = {};
	r = manifest_parse(body, size, content_type, &m);
	if (r < 0)
		return log_error_errno(r, "Manifest %s of %s/%s is not an OCI or Docker schema 2 manifest or index",
				       top, ref->registry, ref->repository);
	*ret_index = m.kind == MANIFEST_INDEX;
	manifest_done(&m);
	memcpy(ret, top, DIGEST_STRING_MAX);
	if (!platform_arg)
		return 0;

	struct platform platform = {};
	if (platform_parse(platform_arg, &platform) < 0)
		return log_error_errno(-EINVAL, "--platform wants OS/ARCH[/VARIANT], e.g. linux/arm64/v8, not '%s'",
				       platform_arg);
	struct manifest_store store;
	registry_manifest_store(reg, &store);
	struct image_source *src = NULL;
	r = pull_source_new(&store, top, &platform, true, NULL, &src, ret);
	pull_source_free(src);
	platform_done(&platform);
	return r;
}

/* What cosign writes as the payload's identity: the repository, Docker
 * Hub's as index.docker.io (go-containerregistry's name.Repository). */
static char *docker_reference(const struct image_reference *ref)
{
	char *s = NULL;
	const char *registry = streq(ref->registry, "docker.io") ? "index.docker.io" : ref->registry;
	return asprintf(&s, "%s/%s", registry, ref->repository) < 0 ? NULL : s;
}

static int json_append_new(json_t *array, json_t *value)
{
	return value && json_array_append_new(array, value) == 0 ? 0 : -ENOMEM;
}

/* The layers of the signature image already at tag (an empty array if
 * none), to append to. */
static int existing_layers(struct registry *reg, const char *tag, json_t **ret)
{
	int r = registry_has_manifest(reg, tag);
	if (r < 0)
		return r;
	if (r == 0) {
		*ret = json_array();
		return *ret ? 0 : -ENOMEM;
	}
	_cleanup_free_ char *body = NULL, *content_type = NULL;
	size_t size = 0;
	char digest[DIGEST_STRING_MAX];
	r = registry_fetch_manifest(reg, tag, 0, &body, &size, &content_type, digest);
	if (r < 0)
		return r;
	json_error_t error;
	json_t *root = json_loadb(body, size, JSON_REJECT_DUPLICATES, &error);
	json_t *layers = json_object_get(root, "layers");
	const char *media_type = json_string_value(json_object_get(root, "mediaType"));
	bool ok = json_is_array(layers) && (!media_type || streq(media_type, MEDIA_TYPE_OCI_MANIFEST));
	size_t i;
	json_t *layer;
	json_array_foreach(layers, i, layer)
	{
		const char *d = json_string_value(json_object_get(layer, "digest"));
		if (!json_is_object(layer) || !d || !digest_is_valid(d))
			ok = false;
	}
	if (!ok) {
		json_decref(root);
		return log_error_errno(-EBADMSG,
				       "Tag %s is there but is not a cosign signature image (an OCI manifest "
				       "of layers); refusing to replace it",
				       tag);
	}
	size_t n = json_array_size(layers);
	if (n >= SIGN_LAYERS_MAX) {
		json_decref(root);
		return log_error_errno(-E2BIG,
				       "Signature image %s already holds %zu signatures (at most %u): refusing to "
				       "add one more",
				       tag, n, SIGN_LAYERS_MAX);
	}
	*ret = json_incref(layers);
	json_decref(root);
	return 0;
}

/* go-containerregistry's config for the signature image: one history
 * entry and one diff_id per layer (the payloads are not compressed). It is
 * rebuilt from the layers rather than read back: nothing verifies it. */
static int signature_config(json_t *layers, char **ret, size_t *ret_size)
{
	json_t *history = json_array(), *diff_ids = json_array();
	int r = history && diff_ids ? 0 : -ENOMEM;
	size_t i;
	json_t *layer;
	json_array_foreach(layers, i, layer)
	{
		if (r >= 0)
			r = json_append_new(history, json_pack("{s:s}", "created", SIGN_ZERO_TIME));
		if (r >= 0)
			r = json_append_new(diff_ids, json_incref(json_object_get(layer, "digest")));
	}
	if (r < 0) {
		json_decref(history);
		json_decref(diff_ids);
		return r;
	}
	json_t *config =
		json_pack("{s:s, s:s, s:o, s:s, s:{s:s, s:o}, s:{}}", "architecture", "", "created", SIGN_ZERO_TIME,
			  "history", history, "os", "", "rootfs", "type", "layers", "diff_ids", diff_ids, "config");
	*ret = config ? json_dumps(config, JSON_COMPACT) : NULL;
	json_decref(config);
	if (!*ret)
		return -ENOMEM;
	*ret_size = strlen(*ret);
	return 0;
}

/* --verity: the image built as a node builds it (the builder's defaults or
 * the options given, bootable), into a temporary directory removed after;
 * its root hash, settings and manifest digest into a. */
static int build_for_verity(struct sign_args *a)
{
	struct build_options b;
	int r = source_args_build_options(&a->src, &b);
	if (r < 0)
		return r;
	build_options_require_bootable(&b);
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *dir = NULL, *image = NULL, *index = NULL, *source = NULL;
	if (asprintf(&dir, "%s/kairos-sign-XXXXXX", tmp && *tmp ? tmp : "/var/tmp") < 0 ||
	    asprintf(&source, "oci:%s", a->ref) < 0)
		return -ENOMEM;
	if (!mkdtemp(dir))
		return log_error_errno(negative_errno(), "Cannot create a directory to build in, %s: %m", dir);
	if (asprintf(&image, "%s/image.squashfs", dir) < 0 || asprintf(&index, "%s/image.index", dir) < 0) {
		(void) rmdir(dir);
		return -ENOMEM;
	}
	b.index_path = index; /* as a node builds it */
	struct pull *p = NULL;
	struct pull_options po = a->src.pull;
	po.policy = NULL; /* the publisher's own image: nothing to check yet */
	po.require_signed_root_hash = false;
	r = pull_open(source, &po, &p);
	if (r >= 0) {
		log_info("Building %s as a node would, to sign its dm-verity root hash", pull_name(p));
		r = pull_build(p, image, &b, NULL);
	}
	if (r >= 0 && (!pull_verity(p) || !pull_build_record(p)))
		r = log_error_errno(-EIO, "The build of %s gave no dm-verity root hash", pull_name(p));
	if (r >= 0) {
		verity_hex(pull_verity(p)->root_hash, sizeof(pull_verity(p)->root_hash), a->built_root_hash);
		build_record_string(pull_build_record(p), a->built_build);
		snprintf(a->built_digest, sizeof(a->built_digest), "%s", pull_digest(p));
		a->verity_root_hash = a->built_root_hash;
		a->verity_build = a->built_build;
		log_info("Built %s: dm-verity root hash %s (%s)", pull_digest(p), a->built_root_hash, a->built_build);
	}
	pull_free(p);
	(void) unlink(image);
	(void) unlink(index);
	(void) rmdir(dir);
	return r;
}

struct signed_image {
	char digest[DIGEST_STRING_MAX]; /* what was signed */
	size_t n_signatures;            /* in the signature image now */
};

static int sign_image(struct registry *reg, const struct image_reference *ref, const struct sign_args *a,
		      const struct trust_private_key *key, struct signed_image *out)
{
	bool index = false;
	int r = resolve_digest(reg, ref, a->src.pull.platform, out->digest, &index);
	if (r < 0)
		return r;
	if (index && !a->src.pull.platform)
		log_info("%s/%s%s%s is a multi-platform index: signing the index (--platform signs one platform's "
			 "manifest)",
			 ref->registry, ref->repository, ref->digest ? "@" : ":", reference_object(ref));

	if (a->verity && index && !a->src.pull.platform)
		return log_error_errno(-EINVAL,
				       "%s/%s is a multi-platform index: a root hash is one platform's image; sign "
				       "each platform's with --verity --platform OS/ARCH",
				       ref->registry, ref->repository);
	if (a->verity && !streq(out->digest, a->built_digest))
		return log_error_errno(
			-ESTALE, "%s/%s:%s now names %s, not the %s that was built: it moved; sign by digest",
			ref->registry, ref->repository, reference_object(ref), out->digest, a->built_digest);
	_cleanup_free_ char *identity = a->identity ? strdup(a->identity) : docker_reference(ref);
	_cleanup_free_ char *payload = NULL, *signature = NULL, *config = NULL, *manifest = NULL, *tag = NULL;
	size_t payload_size = 0, config_size = 0;
	if (!identity || asprintf(&tag, "sha256-%s.sig", out->digest + strlen(DIGEST_SHA256_PREFIX)) < 0)
		return -ENOMEM;
	/* The root hash beside the user's annotations (none of them dev.kairos.verity.*). */
	struct simple_signing_annotation annotations[SIGN_ANNOTATIONS_MAX + 2];
	size_t n = a->n_annotations;
	memcpy(annotations, a->annotations, n * sizeof(annotations[0]));
	if (a->verity_root_hash) {
		annotations[n++] =
			(struct simple_signing_annotation){ SIMPLE_SIGNING_VERITY_ROOT_HASH_KEY, a->verity_root_hash };
		annotations[n++] =
			(struct simple_signing_annotation){ SIMPLE_SIGNING_VERITY_BUILD_KEY, a->verity_build };
	}
	r = simple_signing_write(identity, out->digest, annotations, n, &payload, &payload_size);
	if (r < 0)
		return log_error_errno(r, "Cannot write the signature payload: an annotation is not UTF-8 text");
	r = simple_signing_sign(key, payload, payload_size, &signature);
	if (r < 0)
		return log_error_errno(r, "Signing failed: %m");

	json_t *layers = NULL;
	r = existing_layers(reg, tag, &layers);
	if (r < 0)
		return r;
	char payload_digest[DIGEST_STRING_MAX], config_digest[DIGEST_STRING_MAX];
	r = registry_push_blob(reg, payload, payload_size, "the signature payload", payload_digest);
	if (r >= 0)
		r = json_append_new(layers,
				    json_pack("{s:s, s:I, s:s, s:{s:s}}", "mediaType", SIMPLE_SIGNING_MEDIA_TYPE,
					      "size", (json_int_t) payload_size, "digest", payload_digest,
					      "annotations", SIMPLE_SIGNING_ANNOTATION, signature));
	if (r >= 0)
		r = signature_config(layers, &config, &config_size);
	if (r >= 0)
		r = registry_push_blob(reg, config, config_size, "the signature image's config", config_digest);
	if (r >= 0) {
		out->n_signatures = json_array_size(layers);
		json_t *m = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:O}", "schemaVersion", 2, "mediaType",
				      MEDIA_TYPE_OCI_MANIFEST, "config", "mediaType",
				      "application/vnd.oci.image.config.v1+json", "size", (json_int_t) config_size,
				      "digest", config_digest, "layers", layers);
		manifest = m ? json_dumps(m, JSON_COMPACT) : NULL;
		json_decref(m);
		r = manifest ? 0 : -ENOMEM;
	}
	json_decref(layers);
	if (r >= 0)
		r = registry_push_manifest(reg, tag, manifest, strlen(manifest), MEDIA_TYPE_OCI_MANIFEST, NULL);
	return r;
}

int verb_sign(int argc, char **argv)
{
	struct sign_args a = {};
	source_args_init(&a.src);
	int r = parse_args(argc, argv, &a);
	if (r <= 0) {
		sign_args_done(&a);
		return r;
	}

	/* The key first: a wrong password costs no network round trip. */
	struct trust_private_key *key = NULL;
	struct trust_key *pub = NULL;
	struct image_reference ref = {};
	struct registry *reg = NULL;
	bool curl = false;
	r = load_key(a.key_file, &key);
	if (r >= 0)
		r = trust_private_key_public(key, &pub);
	if (r >= 0 && (r = reference_parse(a.ref, &ref)) == -EINVAL)
		log_error("Invalid image reference '%s': expected [HOST[:PORT]/]PATH[:TAG][@sha256:HEX] in lowercase",
			  a.ref);
	if (r >= 0) {
		curl = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
		r = curl ? 0 : log_error_errno(-EIO, "Failed to initialize libcurl");
	}
	if (r >= 0) {
		a.src.pull.registry.push = true;
		r = registry_open(&ref, &a.src.pull.registry, &reg);
	}
	/* The build before the push: a failed build pushes nothing. */
	if (r >= 0 && a.verity)
		r = build_for_verity(&a);
	struct signed_image out = {};
	if (r >= 0)
		r = sign_image(reg, &ref, &a, key, &out);
	if (r >= 0 && a.verity_root_hash)
		log_info("The signature pins dm-verity root hash %s (%s)", a.verity_root_hash, a.verity_build);
	if (r >= 0)
		log_info("Signed %s/%s (%s) with %s key %s: %s/%s:sha256-%s.sig holds %zu signature%s", ref.registry,
			 ref.repository, out.digest, trust_key_type_name(trust_key_type(pub)),
			 trust_key_fingerprint(pub), ref.registry, ref.repository,
			 out.digest + strlen(DIGEST_SHA256_PREFIX), out.n_signatures, out.n_signatures == 1 ? "" : "s");
	else if (key && ref.repository)
		log_error("Signing %s failed: no signature was added", a.ref);
	registry_free(reg);
	if (curl)
		curl_global_cleanup();
	reference_done(&ref);
	trust_key_free(pub);
	trust_private_key_free(key);
	sign_args_done(&a);
	return r;
}
