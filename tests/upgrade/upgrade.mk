# tests/upgrade/: kairos-upgrade's state verbs and A/B commit, on state
# directories, through the real binary.
CHECK_SUITES += state commit

check-state: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) state env KAIROS_UPGRADE=$(BUILD)/kairos-upgrade tests/upgrade/state-verbs.sh

# KILL_SWEEP=N kills at every Nth fault point only (default: every one).
check-commit: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) commit env KAIROS_UPGRADE=$(BUILD)/kairos-upgrade tests/upgrade/commit.sh
