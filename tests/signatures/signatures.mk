# tests/signatures/: signature verification on every fetch (issue 15)
# against a real docker-registry on 127.0.0.1, signatures written by
# tests/cosign/cosign_registry.py (Python cryptography, not our code).
check-signatures: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) signatures tests/signatures/run.sh $(BUILD)/kairos-upgrade

.PHONY: check-signatures
CHECK_SUITES += signatures
