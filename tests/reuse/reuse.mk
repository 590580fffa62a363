# tests/reuse/: images built from an installed image's layers (its layer
# index and squashfs) against images built from all the layers: cmp.
# `make check-reuse`.
CHECK_SUITES += reuse

check-reuse: $(BUILD_FROM_TARS)
	$(Q)$(RUN_SUITE) reuse python3 tests/reuse/run.py $(BUILD_FROM_TARS)
.PHONY: check-reuse
