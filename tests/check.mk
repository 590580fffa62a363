# Test targets. Each suite prints TAP ("ok N - name" / "not ok N - name");
# tests/run-suite records it under $(BUILD)/results and tests/summary prints
# the closing "N passed, N failed" line.
RESULTS := $(BUILD)/results
RUN_SUITE = tests/run-suite $(RESULTS)

# make check: everything, cheapest first; a failing suite does not stop the
# others, the summary's exit status says whether all passed. Fragments add
# their own suites with `CHECK_SUITES += name` (run as `make check-name`).
CHECK_SUITES := build unit asan lint fuzz-smoke $(CHECK_SUITES)

# The suites that boot the Debian reference OS in QEMU run in a second lane,
# beside the host suites and the other QEMU suites: each VM (TCG) keeps one of
# the two cores busy, so the lanes nearly halve the wall time. CHECK_LANES=1
# runs everything in one lane. The second lane's output is kept in its own log
# and shown when it ends, so the two never interleave. grub-parity (host
# only, no loop devices) goes there too, to even the lanes: at stop 16 the
# first lane took 34 min and the second 30.7 (check-boot grew by 2 min).
CHECK_LANE2 := grub e2e powercut recovery
CHECK_LANES ?= 2

check: deps
	$(Q)rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	$(Q)$(MAKE) --no-print-directory check-build || true
ifeq ($(CHECK_LANES),1)
	$(Q)for s in $(filter-out build,$(CHECK_SUITES)); do $(MAKE) --no-print-directory check-$$s || true; done
else
	$(Q)( for s in $(filter $(CHECK_LANE2),$(CHECK_SUITES)); do $(MAKE) --no-print-directory check-$$s || true; done \
		>$(RESULTS)/lane2.out 2>&1 ) & \
	for s in $(filter-out build $(CHECK_LANE2),$(CHECK_SUITES)); do $(MAKE) --no-print-directory check-$$s || true; done; \
	echo "== waiting for the second lane ($(CHECK_LANE2))"; wait; \
	echo "== second lane's output:"; cat $(RESULTS)/lane2.out
endif
	$(Q)tests/summary $(RESULTS)

# make check-long: what is too long for CI, run before closing an issue: the
# full power-cut matrix, and every fuzz target for 10 minutes. Fragments add
# their own with `LONG_SUITES += name`.
LONG_FUZZ_SECONDS ?= 600
check-long: deps
	$(Q)rm -rf $(RESULTS)
	$(Q)for s in $(LONG_SUITES); do $(MAKE) --no-print-directory check-$$s || true; done
	$(Q)$(MAKE) --no-print-directory check-fuzz-long || true
	$(Q)tests/summary $(RESULTS)

check-fuzz-long: deps $(FUZZ_BINS)
	$(Q)$(RUN_SUITE) fuzz-long tests/run-fuzz $(LONG_FUZZ_SECONDS) $(BUILD)/fuzz $(FUZZ_BINS)
.PHONY: check-long check-fuzz-long

check-build:
	$(Q)$(RUN_SUITE) build sh -c '$(MAKE) --no-print-directory all && echo "ok 1 - make all (-Wall -Wextra -Werror)"'

check-unit: deps $(UNIT_BINS)
	$(Q)$(RUN_SUITE) unit$(SUITE_SUFFIX) tests/run-unit $(UNIT_BINS)

# Unit tests again, built with ASan+UBSan in a build tree of their own.
check-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SANITIZE=1 RESULTS=$(RESULTS) SUITE_SUFFIX=-asan check-unit

check-lint: deps
	$(Q)$(RUN_SUITE) lint tests/lint
