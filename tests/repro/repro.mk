# tests/repro/: the same image with the same settings gives the same bytes
# whatever the threads, output file system, TZ, locale, umask, host file
# mtimes and transport (registry, OCI layout, oci-archive, docker-archive);
# each build its own process (another fs_hash_bytes key). About 6 s.
# check-repro-long adds every compressor and the reference OS when cached.
check-repro: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) repro tests/repro/run.sh $(BUILD)/kairos-upgrade

check-repro-long: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) repro-long tests/repro/run.sh $(BUILD)/kairos-upgrade long

.PHONY: check-repro check-repro-long
CHECK_SUITES += repro
LONG_SUITES += repro-long
