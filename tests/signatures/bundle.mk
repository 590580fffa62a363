# tests/signatures/bundle.sh: cosign 3's Sigstore bundles (OCI 1.1
# referrers, tag-schema fallback) fetched from a real docker-registry by
# oci/referrers.c and verified by trust/bundle.c, through bundle-tool.
# `make check-bundle`, a suite of its own beside check-signatures.
BUNDLE_TOOL := $(BUILD)/tests/bundle-tool

$(BUNDLE_TOOL): $(BUILD)/obj/tests/signatures/bundle_tool.o $(LIBUPGRADE) $(LIBKAIROS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(UPGRADE_LIBS)

ALL_TARGETS += $(BUNDLE_TOOL)
CHECK_SUITES += bundle

check-bundle: deps $(BUNDLE_TOOL)
	$(Q)BUNDLE_TOOL=$(BUNDLE_TOOL) $(RUN_SUITE) bundle bash tests/signatures/bundle.sh
.PHONY: check-bundle
