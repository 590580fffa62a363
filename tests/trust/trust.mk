# tests/trust/: userspace/trust against code we did not write, on vectors
# made fresh each run (new keys, new signatures): Python's cryptography and
# PyNaCl write keys, cosign payloads, signatures and encrypted key files;
# the openssl CLI checks every signature, ours included. `make check-trust`.
TRUST_TOOL := $(BUILD)/tests/trust-tool
TRUST_UNIT_BINS := $(BUILD)/tests/test_trust_key $(BUILD)/tests/test_simple_signing $(BUILD)/tests/test_cosign_key

$(TRUST_TOOL): $(BUILD)/obj/tests/trust/trust_tool.o $(LIBUPGRADE) $(LIBKAIROS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(UPGRADE_LIBS)

ALL_TARGETS += $(TRUST_TOOL)
CHECK_SUITES += trust

check-trust: deps $(TRUST_TOOL) $(TRUST_UNIT_BINS)
	$(Q)$(RUN_SUITE) trust tests/trust/run.sh $(BUILD) $(TRUST_TOOL) $(TRUST_UNIT_BINS)
.PHONY: check-trust

