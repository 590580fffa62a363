# tests/signatures/sign.sh: `kairos-upgrade sign` against a docker-registry
# on 127.0.0.1 (plain, token-authenticated through push_proxy.py, Basic,
# read-only), every signature it writes checked with curl, cosign's exact
# bytes and the openssl CLI (sign_check.py). About 20 s. Until the lead
# folds it into check-signatures (tests/signatures/run.sh runs sign.sh when
# present), a suite of its own.
check-sign: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) sign bash tests/signatures/sign.sh $(BUILD)/kairos-upgrade

.PHONY: check-sign
CHECK_SUITES += sign
