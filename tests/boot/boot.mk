# tests/boot/: real QEMU boots (TCG) of Debian's kernel through GRUB (BIOS
# and UEFI) and direct kernel boots; see tests/boot/run. `make check-boot`;
# BOOT_TESTS="name..." runs a few (tests/boot/run --list names them).
CHECK_SUITES += boot
.PHONY: check-boot

check-boot: deps $(BUILD)/kairos-boot
	$(Q)BOOT_TEST_DIR=$(BUILD)/boot-test $(RUN_SUITE) boot tests/boot/run $(BOOT_TESTS)
