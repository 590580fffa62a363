# tests/e2e/: the reference Debian OS (scripts/mk-os-image) installed from a
# local registry, booted through GRUB, dracut and kairos-boot into systemd,
# upgraded from inside the VM, and falling back from a broken release; driven
# over the serial console. About 4 minutes under TCG with the OS image cached
# (/var/cache/kairos), plus about 2.5 minutes to build it the first time.
CHECK_SUITES += e2e

check-e2e: deps $(BUILD)/kairos-upgrade $(BUILD)/kairos-boot
	$(Q)$(RUN_SUITE) e2e python3 tests/e2e/run.py
.PHONY: check-e2e
