# tests/boot/: the boot chain.
#  make check-grub  grub/grub.cfg run by grub-emu against lib/boot_state.c's
#                   rules for every combination of slot states, tries and
#                   one-shot choices (host only, under a minute)
#  make check-boot  real QEMU boots (TCG) of Debian's kernel through GRUB
#                   (BIOS and UEFI) and direct kernel boots; see tests/boot/run.
#                   BOOT_TESTS="name..." runs a few (tests/boot/run --list).
CHECK_SUITES += grub boot
.PHONY: check-grub check-boot

check-grub: deps $(BUILD)/kairos-boot $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) grub tests/boot/grub-parity $(abspath $(BUILD))/grub-parity

check-boot: deps $(BUILD)/kairos-boot $(BUILD)/kairos-upgrade $(BUILD)/tests/build-from-tars
	$(Q)BOOT_TEST_DIR=$(BUILD)/boot-test BUILD_FROM_TARS=$(abspath $(BUILD))/tests/build-from-tars $(RUN_SUITE) boot tests/boot/run $(BOOT_TESTS)
