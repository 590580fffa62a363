# initrd/: kairos-boot, the static initramfs helper.
# Every initrd/*.c except main.c goes into libboot.a so unit tests can link it.
BOOT_SRCS := $(filter-out initrd/main.c,$(wildcard initrd/*.c))
BOOT_OBJS := $(BOOT_SRCS:%.c=$(BUILD)/obj/%.o)
LIBBOOT := $(BUILD)/libboot.a
# Linked statically: it runs in an initramfs with no shared libraries.
# libblkid ships a static archive in Debian (finds partitions by label).
# libmount and libkmod do not (no libmount.a, no libkmod.a), so they are not
# used: the helper calls mount(2), the loop ioctls and finit_module(2)
# directly and reads modules.dep itself.
BOOT_LIBS := -lblkid

$(LIBBOOT): $(BOOT_OBJS)
	@$(if $(Q),echo "  AR      $@")
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/kairos-boot: $(BUILD)/obj/initrd/main.o $(LIBBOOT) $(LIBKAIROS)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) -static $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(BOOT_LIBS)

ifneq ($(SANITIZE),1)
ALL_TARGETS += $(BUILD)/kairos-boot
endif
