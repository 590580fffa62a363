/* SPDX-License-Identifier: Apache-2.0 */
/* trust-tool: userspace/trust from the shell, so tests/trust/run.sh can
 * hand what our code writes to the openssl CLI and to Python.
 *   trust-tool payload REFERENCE DIGEST        cosign payload to stdout
 *   trust-tool sign KEYFILE FILE               raw signature to stdout
 *     (an encrypted cosign key file takes COSIGN_PASSWORD)
 *   trust-tool verify PUBFILE PAYLOAD SIGB64 DIGEST
 *   trust-tool fingerprint PUBFILE
 *   trust-tool decrypt KEYFILE                 (COSIGN_PASSWORD; exit status only) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cosign_key.h"
#include "log.h"
#include "simple_signing.h"
#include "util.h"

static char *slurp(const char *path, size_t *ret_size)
{
	_cleanup_fclose_ FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(SIMPLE_SIGNING_PAYLOAD_MAX + 2);
	if (!buf)
		return NULL;
	size_t n = fread(buf, 1, SIMPLE_SIGNING_PAYLOAD_MAX + 1, f);
	buf[n] = '\0';
	*ret_size = n;
	return buf;
}

static int load_private(const char *path, struct trust_private_key **ret)
{
	size_t size = 0;
	_cleanup_free_ char *pem = slurp(path, &size);
	if (!pem)
		return log_error_errno(-errno, "Failed to read %s: %m", path);
	if (!cosign_key_is_encrypted(pem, size))
		return trust_private_key_from_pem(pem, size, ret);
	const char *pw = getenv("COSIGN_PASSWORD");
	return cosign_key_load(pem, size, pw ? pw : "", pw ? strlen(pw) : 0, ret);
}

static int load_public(const char *path, struct trust_key **ret)
{
	size_t size = 0;
	_cleanup_free_ char *pem = slurp(path, &size);
	if (!pem)
		return log_error_errno(-errno, "Failed to read %s: %m", path);
	return trust_key_from_pem(pem, size, ret);
}

static int run(int argc, char **argv)
{
	if (argc == 4 && streq(argv[1], "payload")) {
		_cleanup_free_ char *payload = NULL;
		size_t size = 0;
		int r = simple_signing_write(argv[2], argv[3], NULL, 0, &payload, &size);
		if (r < 0)
			return r;
		return fwrite(payload, 1, size, stdout) == size ? 0 : -EIO;
	}
	if (argc == 4 && streq(argv[1], "sign")) {
		_cleanup_(trust_private_key_freep) struct trust_private_key *key = NULL;
		int r = load_private(argv[2], &key);
		if (r < 0)
			return log_error_errno(r, "Failed to load %s: %m", argv[2]);
		size_t size = 0;
		_cleanup_free_ char *data = slurp(argv[3], &size);
		if (!data)
			return -EIO;
		_cleanup_free_ unsigned char *sig = NULL;
		size_t sig_size = 0;
		r = trust_sign(key, data, size, &sig, &sig_size);
		if (r < 0)
			return r;
		return fwrite(sig, 1, sig_size, stdout) == sig_size ? 0 : -EIO;
	}
	if (argc == 6 && streq(argv[1], "verify")) {
		_cleanup_(trust_key_freep) struct trust_key *key = NULL;
		int r = load_public(argv[2], &key);
		if (r < 0)
			return log_error_errno(r, "Failed to load %s: %m", argv[2]);
		size_t size = 0, sig_size = 0;
		_cleanup_free_ char *payload = slurp(argv[3], &size);
		_cleanup_free_ char *sig = slurp(argv[4], &sig_size);
		if (!payload || !sig)
			return -EIO;
		const char *const digests[] = { argv[5], NULL };
		_cleanup_(simple_signing_done) struct simple_signing signed_for = {};
		r = simple_signing_verify(payload, size, sig, key, digests, &signed_for);
		if (r < 0)
			return log_error_errno(r, "Not verified: %m");
		printf("%s %s %s\n", trust_key_fingerprint(key), signed_for.docker_reference, signed_for.digest);
		return 0;
	}
	if (argc == 3 && streq(argv[1], "fingerprint")) {
		_cleanup_(trust_key_freep) struct trust_key *key = NULL;
		int r = load_public(argv[2], &key);
		if (r < 0)
			return log_error_errno(r, "Failed to load %s: %m", argv[2]);
		printf("%s %s\n", trust_key_fingerprint(key), trust_key_type_name(trust_key_type(key)));
		return 0;
	}
	if (argc == 3 && streq(argv[1], "decrypt")) {
		_cleanup_(trust_private_key_freep) struct trust_private_key *key = NULL;
		return load_private(argv[2], &key);
	}
	fprintf(stderr, "usage: trust-tool payload|sign|verify|fingerprint|decrypt ...\n");
	return -EINVAL;
}

int main(int argc, char **argv)
{
	log_set_program("trust-tool");
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
