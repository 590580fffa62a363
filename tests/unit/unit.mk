# tests/unit/: one cmocka binary per tests/unit/test_*.c, linked against all
# three archives (the linker takes only what each test uses).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_LIBS := $(LIBBOOT) $(LIBUPGRADE) $(LIBKAIROS)
EXTRA_CFLAGS_tests := -Iinitrd $(UPGRADE_INCLUDES) $(EXTRA_CFLAGS_userspace)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(UNIT_LIBS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(UPGRADE_LIBS) -lblkid -lcmocka

unit-tests: $(UNIT_BINS)
.PHONY: unit-tests
