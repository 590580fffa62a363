# tests/signatures/downgrade.sh: the anti-downgrade rule of issue 15 through
# the real binary, on state directories, with OCI layouts built by umoci (no
# registry). A suite of its own beside check-signatures.
CHECK_SUITES += downgrade

check-downgrade: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) downgrade env KAIROS_UPGRADE=$(BUILD)/kairos-upgrade tests/signatures/downgrade.sh

.PHONY: check-downgrade
