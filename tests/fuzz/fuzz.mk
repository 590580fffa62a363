# tests/fuzz/: libFuzzer targets (clang). Each tests/fuzz/fuzz_NAME.c links
# the lib sources plus FUZZ_SRCS_fuzz_NAME; seeds live in tests/fuzz/corpus/NAME,
# the growing corpus in $(BUILD)/fuzz/corpus/NAME.
FUZZ_TARGETS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_TARGETS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-D_GNU_SOURCE -Ilib $(UPGRADE_INCLUDES) -Iinitrd

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $$(FUZZ_SRCS_$$*)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(FUZZ_CFLAGS_$*) -o $@ $< $(LIB_SRCS) $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*) -lblkid

fuzz-build: $(FUZZ_BINS)

# make fuzz: every target for FUZZ_SECONDS (default 60) each.
fuzz: deps $(FUZZ_BINS)
	$(Q)tests/run-fuzz $(FUZZ_SECONDS) $(BUILD)/fuzz $(FUZZ_BINS)

# The representative subset make check runs: a short run of each target.
check-fuzz-smoke: deps $(FUZZ_BINS)
	$(Q)$(RUN_SUITE) fuzz-smoke tests/run-fuzz 10 $(BUILD)/fuzz $(FUZZ_BINS)
.PHONY: fuzz-build

# The registry's untrusted text (userspace parsers; jansson for JSON).
FUZZ_REGISTRY_SRCS := userspace/oci/manifest.c userspace/oci/auth.c userspace/oci/reference.c userspace/oci/digest.c
# (auth.c parses URLs with libcurl's URL API.)
FUZZ_REGISTRY_FLAGS = $(shell $(PKG_CONFIG) --cflags jansson libcrypto libcurl 2>/dev/null)
FUZZ_REGISTRY_LIBS = $(shell $(PKG_CONFIG) --libs jansson libcrypto libcurl 2>/dev/null)
FUZZ_SRCS_fuzz_manifest := $(FUZZ_REGISTRY_SRCS)
FUZZ_CFLAGS_fuzz_manifest = $(FUZZ_REGISTRY_FLAGS)
FUZZ_LIBS_fuzz_manifest = $(FUZZ_REGISTRY_LIBS)
FUZZ_SRCS_fuzz_registry_text := $(FUZZ_REGISTRY_SRCS)
FUZZ_CFLAGS_fuzz_registry_text = $(FUZZ_REGISTRY_FLAGS)
FUZZ_LIBS_fuzz_registry_text = $(FUZZ_REGISTRY_LIBS)

# A layer blob through decompression (and its bomb budget) and libarchive.
FUZZ_SRCS_fuzz_layer_reader := userspace/image/layer_reader.c
FUZZ_CFLAGS_fuzz_layer_reader = $(shell $(PKG_CONFIG) --cflags libarchive zlib libzstd 2>/dev/null)
FUZZ_LIBS_fuzz_layer_reader = $(shell $(PKG_CONFIG) --libs libarchive zlib libzstd 2>/dev/null) -lpthread

# An image archive (docker-archive:, oci-archive:): the tar index and the
# JSON in it.
FUZZ_SRCS_fuzz_docker_archive := userspace/oci/docker_archive.c userspace/oci/tar_archive.c userspace/oci/membuf.c userspace/oci/oci_layout.c \
	userspace/oci/manifest.c userspace/oci/digest.c
FUZZ_CFLAGS_fuzz_docker_archive = $(shell $(PKG_CONFIG) --cflags libarchive jansson libcrypto 2>/dev/null)
FUZZ_LIBS_fuzz_docker_archive = $(shell $(PKG_CONFIG) --libs libarchive jansson libcrypto 2>/dev/null)

# Signatures: cosign's payload parser, strict base64, key PEM parsing and
# cosign's encrypted key files (tests/fuzz/fuzz_simple_signing.c).
FUZZ_SRCS_fuzz_simple_signing := userspace/trust/simple_signing.c userspace/trust/pem.c \
	userspace/trust/key.c userspace/trust/cosign_key.c userspace/trust/secretbox.c
FUZZ_CFLAGS_fuzz_simple_signing = $(shell $(PKG_CONFIG) --cflags jansson libcrypto 2>/dev/null)
FUZZ_LIBS_fuzz_simple_signing = $(shell $(PKG_CONFIG) --libs jansson libcrypto 2>/dev/null)

# The signature policy (containers-policy.json), signedIdentity matching and
# the anti-downgrade facts (userspace/trust, pure; jansson for JSON).
FUZZ_SRCS_fuzz_policy := userspace/trust/policy.c userspace/trust/policy_json.c userspace/trust/policy_requirement.c \
	userspace/trust/identity.c userspace/trust/downgrade.c
FUZZ_CFLAGS_fuzz_policy = $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
FUZZ_LIBS_fuzz_policy = $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)

# What the anti-downgrade rule takes from an image config (created, the
# version label), bounded and validated (oci/image_config.c).
FUZZ_SRCS_fuzz_image_config := userspace/oci/image_config.c userspace/trust/downgrade.c
FUZZ_CFLAGS_fuzz_image_config = $(shell $(PKG_CONFIG) --cflags jansson 2>/dev/null)
FUZZ_LIBS_fuzz_image_config = $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)
# cosign 3's signatures: Sigstore bundles (DSSE, in-toto statements) and the
# referrers index and manifests that point at them (tests/fuzz/fuzz_bundle.c).
FUZZ_SRCS_fuzz_bundle := userspace/trust/bundle.c userspace/trust/simple_signing.c userspace/trust/pem.c \
	userspace/trust/key.c userspace/oci/referrers_parse.c userspace/oci/digest.c
FUZZ_CFLAGS_fuzz_bundle = $(shell $(PKG_CONFIG) --cflags jansson libcrypto 2>/dev/null)
FUZZ_LIBS_fuzz_bundle = $(shell $(PKG_CONFIG) --libs jansson libcrypto 2>/dev/null)
# The signature manifest at sha256-HEX.sig and its payloads
# (userspace/oci/signature.c) under a policy requiring a fixed key.
FUZZ_SRCS_fuzz_signature := userspace/oci/signature.c userspace/oci/membuf.c userspace/oci/digest.c \
	$(FUZZ_SRCS_fuzz_policy) userspace/trust/simple_signing.c userspace/trust/pem.c userspace/trust/key.c \
	userspace/trust/bundle.c userspace/oci/referrers_parse.c
FUZZ_CFLAGS_fuzz_signature = $(shell $(PKG_CONFIG) --cflags jansson libcrypto 2>/dev/null)
FUZZ_LIBS_fuzz_signature = $(shell $(PKG_CONFIG) --libs jansson libcrypto 2>/dev/null)

# An installed image's layer index, as its disk holds it (image/layer_index.c).
FUZZ_SRCS_fuzz_layer_index := userspace/image/layer_index.c
FUZZ_CFLAGS_fuzz_layer_index = $(shell $(PKG_CONFIG) --cflags libcrypto libzstd 2>/dev/null)
FUZZ_LIBS_fuzz_layer_index = $(shell $(PKG_CONFIG) --libs libcrypto libzstd 2>/dev/null)

# The dm-verity superblock an image carries after its squashfs
# (userspace/image/verity_tree.c), bounded before the tree is read.
FUZZ_SRCS_fuzz_verity_superblock := userspace/image/verity_tree.c
FUZZ_CFLAGS_fuzz_verity_superblock = $(shell $(PKG_CONFIG) --cflags libcrypto 2>/dev/null)
FUZZ_LIBS_fuzz_verity_superblock = $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null)

# The record of a corrupt recovery image (a file on the state partition).
FUZZ_SRCS_fuzz_recovery_corrupt := userspace/node/corrupt_record.c
