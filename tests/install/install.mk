# tests/install/: kairos-install and kairos-upgrade end to end on the boot-test
# OS: registry -> install -> GRUB -> kairos-boot, upgrade, fallback, rollback,
# one-shot recovery, persistence (real QEMU boots, TCG; about 3 minutes).
CHECK_SUITES += install

check-install: deps $(BUILD)/kairos-upgrade $(BUILD)/kairos-boot
	$(Q)$(RUN_SUITE) install tests/install/run
