# tests/cosign/: the test tooling for issue 15 (cosign signatures): the
# module that writes cosign's classic signatures and cosign 3's Sigstore
# bundles into a real docker-registry, and its self-test, which checks
# everything it wrote with openssl, curl and (when npm can install them) the
# Sigstore JavaScript libraries. Debian's python3 (python3-cryptography,
# python3-nacl), not a python3 from PATH. About 15 s on a quiet machine.
COSIGN_NPM ?= /var/cache/kairos/npm/sigstore-$(shell sha256sum tests/cosign/npm/package-lock.json | cut -c1-12)

check-cosign: deps
	$(Q)tests/cosign/npm-install $(COSIGN_NPM)
	$(Q)KAIROS_SIGSTORE_NPM=$(COSIGN_NPM) $(RUN_SUITE) cosign /usr/bin/python3 tests/cosign/selftest

.PHONY: check-cosign
CHECK_SUITES += cosign
