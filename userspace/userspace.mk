# userspace/: kairos-upgrade. Every userspace/*.c except main.c goes into
# libupgrade.a so unit tests can link it.
UPGRADE_PKGS := libcurl jansson libarchive libsquashfs1 libcrypto zlib libzstd blkid
UPGRADE_SRCS := $(filter-out userspace/main.c,$(wildcard userspace/*.c))
UPGRADE_OBJS := $(UPGRADE_SRCS:%.c=$(BUILD)/obj/%.o)
LIBUPGRADE := $(BUILD)/libupgrade.a
UPGRADE_LIBS := $(shell $(PKG_CONFIG) --libs $(UPGRADE_PKGS) 2>/dev/null) -lpthread
EXTRA_CFLAGS_userspace := $(shell $(PKG_CONFIG) --cflags $(UPGRADE_PKGS) 2>/dev/null)

$(LIBUPGRADE): $(UPGRADE_OBJS)
	@$(if $(Q),echo "  AR      $@")
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/kairos-upgrade: $(BUILD)/obj/userspace/main.o $(LIBUPGRADE) $(LIBKAIROS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(UPGRADE_LIBS)

ALL_TARGETS += $(BUILD)/kairos-upgrade
