# tests/installer/: kairos-install and kairos-build-iso --output on the host
# (image files, and loop devices the test attaches: never a disk of the
# machine): what a target may be, in-use as the kernel sees it, the write
# order, sizes, ext4 features, pull -> install --image. Root; about 30 s.
CHECK_SUITES += installer

check-installer: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) installer tests/installer/run
.PHONY: check-installer
