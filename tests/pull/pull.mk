# tests/pull/: `kairos-upgrade pull` against a real local registry
# (docker-registry on 127.0.0.1, images from umoci, pushed with skopeo).
check-pull: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) pull tests/pull/run.sh $(BUILD)/kairos-upgrade

.PHONY: check-pull
CHECK_SUITES += pull
