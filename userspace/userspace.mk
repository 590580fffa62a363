# userspace/: kairos-upgrade, in four layers, each folder one concern and one
# archive:
#   image/  layers -> squashfs (flattener, writer, the image_source seam)
#   oci/    where images come from (registry, OCI layout, archives) and pull
#   node/   the node's state: slots, image metadata, recovery policy, hooks
#   verbs/  the command line: one file per verb, main.c
# A folder sees only its own headers and those of the layers below it (its
# -I list), so an include in the wrong direction does not compile; the
# archives are linked top layer first, so a call in the wrong direction does
# not link.
UPGRADE_PKGS := libcurl jansson libarchive libsquashfs1 libcrypto zlib libzstd blkid
UPGRADE_LAYERS := verbs node oci trust image
UPGRADE_LIBS := $(shell $(PKG_CONFIG) --libs $(UPGRADE_PKGS) 2>/dev/null) -lpthread
EXTRA_CFLAGS_userspace := $(shell $(PKG_CONFIG) --cflags $(UPGRADE_PKGS) 2>/dev/null)

# -I lists: image sees image; oci sees oci and image; and so on up.
DIR_INCLUDES_userspace/image := -Iuserspace/image
DIR_INCLUDES_userspace/trust := -Iuserspace/trust $(DIR_INCLUDES_userspace/image)
DIR_INCLUDES_userspace/oci := -Iuserspace/oci $(DIR_INCLUDES_userspace/trust)
DIR_INCLUDES_userspace/node := -Iuserspace/node $(DIR_INCLUDES_userspace/oci)
DIR_INCLUDES_userspace/verbs := -Iuserspace/verbs $(DIR_INCLUDES_userspace/node)
# What tests, fuzz targets and tools outside userspace/ see: everything.
UPGRADE_INCLUDES := $(DIR_INCLUDES_userspace/verbs)

# One archive per layer: $(BUILD)/libkairos-<layer>.a; LIBUPGRADE lists them
# in link order (verbs first), for everything that links kairos-upgrade's code.
define upgrade_layer
LIBUPGRADE_$(1) := $(BUILD)/libkairos-$(1).a
$$(LIBUPGRADE_$(1)): $$(patsubst %.c,$(BUILD)/obj/%.o,$$(filter-out userspace/verbs/main.c,$$(wildcard userspace/$(1)/*.c)))
	@$$(if $$(Q),echo "  AR      $$@")
	@mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(UPGRADE_LAYERS),$(eval $(call upgrade_layer,$(l))))
LIBUPGRADE := $(foreach l,$(UPGRADE_LAYERS),$(LIBUPGRADE_$(l)))

$(BUILD)/kairos-upgrade: $(BUILD)/obj/userspace/verbs/main.o $(LIBUPGRADE) $(LIBKAIROS)
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
$(BUILD)/obj/userspace/verbs/version.o: $(BUILD)/gen/version.h
$(BUILD)/obj/userspace/verbs/version.o: EXTRA_CFLAGS_userspace += -I$(BUILD)

# The boot menu kairos-upgrade installs on the state partition (node/grub_cfg.c):
# grub/grub.cfg's bytes as a C initializer.
$(BUILD)/gen/grub_cfg_data.inc: grub/grub.cfg
	@mkdir -p $(@D)
	$(Q)od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g' >$@.tmp && mv $@.tmp $@
$(BUILD)/obj/userspace/node/grub_cfg.o: $(BUILD)/gen/grub_cfg_data.inc
$(BUILD)/obj/userspace/node/grub_cfg.o: EXTRA_CFLAGS_userspace += -I$(BUILD)
FORCE:
.PHONY: FORCE

# Reused blocks (image/block_cache.h) must come from the same libsquashfs:
# its version is part of what makes a stored block.
$(BUILD)/obj/userspace/image/sqfs_writer.o: EXTRA_CFLAGS_userspace += -DKAIROS_SQFS_VERSION='"$(shell $(PKG_CONFIG) --modversion libsquashfs1 2>/dev/null || echo unknown)"'
