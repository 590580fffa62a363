# tests/k8s/: the Kubernetes example (examples/kubernetes). Every YAML
# document parses and has the structure system-upgrade-controller needs, and
# the upgrade entrypoint runs against mocked nsenter, kairos-upgrade upgrade
# and systemctl (status is the real binary). No cluster runs it. Seconds.
CHECK_SUITES += k8s

check-k8s: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) k8s env KAIROS_UPGRADE=$(BUILD)/kairos-upgrade tests/k8s/run
.PHONY: check-k8s
