# tests/e2e/: the reference Debian OS (scripts/mk-os-image) installed from a
# local registry, booted through GRUB, dracut and kairos-boot into systemd,
# upgraded from inside the VM, falling back from a broken release, rolled
# back, its recovery upgraded and booted once; driven over the serial
# console. About 6 minutes under TCG with the OS image cached
# (/var/cache/kairos), plus about 3 minutes to build it the first time.
CHECK_SUITES += e2e powercut
LONG_SUITES += powercut-long

E2E_NEEDS := deps $(BUILD)/kairos-upgrade $(BUILD)/kairos-boot

check-e2e: $(E2E_NEEDS)
	$(Q)$(RUN_SUITE) e2e python3 tests/e2e/run.py

# Power cuts in the VM (tests/e2e/powercut.py): two upgrade cuts, one while
# GRUB writes its counter, one around mark-good in make check; the full
# matrix (20 upgrade cuts) in make check-long.
check-powercut: $(E2E_NEEDS)
	$(Q)$(RUN_SUITE) powercut python3 tests/e2e/powercut.py

check-powercut-long: $(E2E_NEEDS)
	$(Q)POWERCUT_RUNS=20 POWERCUT_AFTER_COMMIT=2 POWERCUT_GRUB=3 POWERCUT_MARK=2 $(RUN_SUITE) powercut-long python3 tests/e2e/powercut.py
.PHONY: check-e2e check-powercut check-powercut-long
