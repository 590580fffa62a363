# tests/iso/: the live ISO. kairos-build-iso's bad-input errors, then the
# reference OS v1 (scripts/mk-os-image) as a hybrid ISO: booted in QEMU (TCG)
# from a CD-ROM through SeaBIOS, installed from the live system onto an empty
# disk, that disk booted alone and confirmed; then the ISO through OVMF.
# 4 minutes under TCG on 2 cores with the OS image cached (/var/cache/kairos),
# 12 when other QEMUs share them; the image takes about 3 more when rebuilt.
CHECK_SUITES += iso

check-iso: deps $(BUILD)/kairos-upgrade $(BUILD)/kairos-boot
	$(Q)$(RUN_SUITE) iso python3 tests/iso/run.py
.PHONY: check-iso
