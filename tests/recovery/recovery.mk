# tests/recovery/: reset from recovery with the reference Debian OS in QEMU
# (TCG): both slots broken -> recovery; automation off: stays, a reset killed
# midway, recovery boots again, a manual reset heals; automation on: heals by
# itself; the loop guard stops; --wipe-persistent. Reuses tests/e2e/harness.py.
CHECK_SUITES += recovery

check-recovery: deps $(BUILD)/kairos-upgrade $(BUILD)/kairos-boot
	$(Q)$(RUN_SUITE) recovery python3 tests/recovery/run.py
.PHONY: check-recovery
