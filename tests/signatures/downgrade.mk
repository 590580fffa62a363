# tests/signatures/downgrade.sh: the anti-downgrade rule of issue 15 through
# the real binary, on state directories, with OCI layouts built by umoci (no
# registry). Until tests/signatures/run.sh (check-signatures) calls it, it
# is a suite of its own; then this file and its line in the Makefile go.
CHECK_SUITES += downgrade

check-downgrade: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) downgrade env KAIROS_UPGRADE=$(BUILD)/kairos-upgrade tests/signatures/downgrade.sh

.PHONY: check-downgrade
