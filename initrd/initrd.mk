# initrd/: kairos-boot, the static initramfs helper.
# Every initrd/*.c except main.c goes into libboot.a so unit tests can link it.
BOOT_SRCS := $(filter-out initrd/main.c,$(wildcard initrd/*.c))
BOOT_OBJS := $(BOOT_SRCS:%.c=$(BUILD)/obj/%.o)
LIBBOOT := $(BUILD)/libboot.a
# libblkid ships a static archive in Debian; libmount/libkmod are not used
# (the helper calls mount(2) and finit_module(2) directly).
BOOT_LIBS := -lblkid

$(LIBBOOT): $(BOOT_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/kairos-boot: $(BUILD)/obj/initrd/main.o $(LIBBOOT) $(LIBKAIROS)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) -static $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(BOOT_LIBS)

ifneq ($(SANITIZE),1)
ALL_TARGETS += $(BUILD)/kairos-boot
endif
