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

# kairos-upgrade --version: the version from VERSION and the git commit,
# baked in at build time. A tarball without .git (or inside another
# repository) says "unknown", or what KAIROS_COMMIT=... gives. The header is
# rewritten only when its text changes, so a new commit rebuilds one file.
KAIROS_VERSION ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
KAIROS_COMMIT ?= $(if $(wildcard .git),$(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty))
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define KAIROS_VERSION "%s"\n#define KAIROS_COMMIT "%s"\n' '$(KAIROS_VERSION)' '$(or $(KAIROS_COMMIT),unknown)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/obj/userspace/version.o: $(BUILD)/gen/version.h
$(BUILD)/obj/userspace/version.o: EXTRA_CFLAGS_userspace += -I$(BUILD)
FORCE:
.PHONY: FORCE
