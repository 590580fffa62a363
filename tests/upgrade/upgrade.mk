# tests/upgrade/: kairos-upgrade's state verbs and A/B commit, on state
# directories, through the real binary.
CHECK_SUITES += state

check-state: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) state env KAIROS_UPGRADE=$(BUILD)/kairos-upgrade tests/upgrade/state-verbs.sh
