# tests/tools/: the build and development tools (mk-os-image, demo, deps.sh,
# run-vm), the units of the reference OS and the drivers in its initrd (when
# the OS layout is already built). Mocks, temporary files, loop devices and a
# mount namespace of its own; no QEMU. Seconds.
CHECK_SUITES += tools

check-tools: deps $(BUILD)/kairos-upgrade $(BUILD)/kairos-boot $(BUILD_FROM_TARS)
	$(Q)$(RUN_SUITE) tools tests/tools/run
.PHONY: check-tools
