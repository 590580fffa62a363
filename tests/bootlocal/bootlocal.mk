# tests/bootlocal/: kairos-boot's real mounts on this host (loop, squashfs,
# overlay, ext4), as root, each boot inside its own `unshare -m` so nothing
# leaks into the host. No VM: the QEMU boot tests are in tests/boot/.
CHECK_SUITES += bootlocal

check-bootlocal: deps $(BUILD)/kairos-boot
	$(Q)$(RUN_SUITE) bootlocal env KAIROS_BOOT=$(BUILD)/kairos-boot tests/bootlocal/mount-tests.sh
