# tests/flatten/: multi-layer images built with umoci, flattened by us and by
# `umoci unpack`, compared entry by entry. `make check-flatten`.
BUILD_FROM_TARS := $(BUILD)/tests/build-from-tars

$(BUILD_FROM_TARS): $(BUILD)/obj/tests/flatten/build_from_tars.o $(LIBUPGRADE) $(LIBKAIROS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(UPGRADE_LIBS)

ALL_TARGETS += $(BUILD_FROM_TARS)
CHECK_SUITES += flatten

check-flatten: $(BUILD_FROM_TARS) $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) flatten python3 tests/flatten/run.py $(BUILD_FROM_TARS) $(BUILD)/kairos-upgrade
.PHONY: check-flatten

# make check-long: the full dm-verity corruption matrix (every tree block,
# every superblock field, 200 data blocks; check-flatten keeps one of each).
check-verity-long: deps $(BUILD_FROM_TARS) $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) verity-long python3 tests/flatten/verity_matrix.py $(BUILD_FROM_TARS) $(BUILD)/kairos-upgrade
.PHONY: check-verity-long
LONG_SUITES += verity-long

# The path check every entry passes, fuzzed (tests/fuzz/fuzz_flatten_path.c).
FUZZ_SRCS_fuzz_flatten_path := userspace/image/flatten.c userspace/image/fs_tree.c
FUZZ_CFLAGS_fuzz_flatten_path := $(shell $(PKG_CONFIG) --cflags libsquashfs1 2>/dev/null)
FUZZ_LIBS_fuzz_flatten_path := $(shell $(PKG_CONFIG) --libs libsquashfs1 2>/dev/null)
