# SPDX-License-Identifier: Apache-2.0
# Non-recursive build: each folder adds its part in a .mk fragment; every
# output goes under $(BUILD). `make V=1` shows the commands.

BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin

CC ?= cc
CLANG ?= clang
PKG_CONFIG ?= pkg-config

CFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral -Wvla
CPPFLAGS += -D_GNU_SOURCE -Ilib
ALL_CFLAGS = -std=gnu11 $(WARNINGS) $(CFLAGS) $(SANITIZE_FLAGS) -MMD -MP
LDFLAGS ?=

# make SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer (check-asan uses it).
ifeq ($(SANITIZE),1)
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

.DEFAULT_GOAL := all
.PHONY: all install clean deps demo check check-unit check-asan check-lint fuzz fuzz-smoke
.SUFFIXES:
# Keep objects make considers intermediate (tests link them from pattern rules).
.SECONDARY:
.SECONDEXPANSION:

DEPS_SCRIPT := scripts/deps.sh
deps:
	$(Q)sh $(DEPS_SCRIPT)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(DIR_INCLUDES_$(patsubst %/,%,$(dir $<))) $(ALL_CFLAGS) $(EXTRA_CFLAGS_$(firstword $(subst /, ,$<))) -c -o $@ $<

include lib/lib.mk
include initrd/initrd.mk
include userspace/userspace.mk
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
include tests/flatten/flatten.mk
include tests/reuse/reuse.mk
include bench/bench.mk
include tests/pull/pull.mk
include tests/repro/repro.mk
include tests/trust/trust.mk
include tests/cosign/cosign.mk
include tests/signatures/downgrade.mk
include tests/signatures/bundle.mk
include tests/signatures/signatures.mk
include tests/hostile/hostile.mk
include tests/upgrade/upgrade.mk
include tests/k8s/k8s.mk
include tests/tools/tools.mk
include tests/bootlocal/bootlocal.mk
include tests/boot/boot.mk
include tests/install/install.mk
include tests/installer/installer.mk
include tests/e2e/e2e.mk
include tests/derived/derived.mk
include tests/recovery/recovery.mk
include tests/iso/iso.mk
include tests/signatures/sign.mk
include tests/check.mk

# deps first: plain `make` on a new machine installs the -dev packages instead
# of dying on a missing header (deps.sh is silent when all are present).
all: deps
	$(Q)$(MAKE) --no-print-directory build-all
build-all: $(ALL_TARGETS)
.PHONY: build-all

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUILD)/kairos-upgrade $(DESTDIR)$(BINDIR)/kairos-upgrade
	install -m 0755 $(BUILD)/kairos-boot $(DESTDIR)$(BINDIR)/kairos-boot
	install -D -m 0755 scripts/kairos-build-iso $(DESTDIR)$(PREFIX)/lib/kairos/scripts/kairos-build-iso
	$(INSTALL_EXTRA)

# The whole story on this machine, narrated: build, serve, install, boot,
# upgrade, fall back (scripts/demo; about 8 minutes under TCG).
demo: deps all
	$(Q)python3 scripts/demo

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
