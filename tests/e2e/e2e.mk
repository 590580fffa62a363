# tests/e2e/: the reference Debian OS (scripts/mk-os-image) installed from a
# local registry and upgraded from inside the VM, over its serial console.
# Not yet part of `make check`: about 10 minutes under TCG on 2 cores, and it
# has passed by hand only (see the issue notes).
check-e2e: deps $(BUILD)/kairos-upgrade $(BUILD)/kairos-boot
	$(Q)$(RUN_SUITE) e2e python3 tests/e2e/run.py
.PHONY: check-e2e
