# bench/: `make bench` (not part of check) compares our streaming build with
# tar2sqfs (the streaming limit) and umoci unpack + mksquashfs (the scripted
# pipeline) on the same tree, compressor and level, in the same run.
BENCH_DIR ?= /tmp/kairos-bench
BENCH_COMPRESSION ?= zstd:3

bench: $(BUILD_FROM_TARS) bench-signatures
	$(Q)bash bench/run.sh $(BUILD_FROM_TARS) $(BENCH_DIR) $(BENCH_COMPRESSION)
.PHONY: bench

# Only the one-big-directory rows (1 M entries in each order; BENCH_DIR_ENTRIES).
bench-dirs: $(BUILD_FROM_TARS)
	$(Q)BENCH_ONLY=dirs bash bench/run.sh $(BUILD_FROM_TARS) $(BENCH_DIR) $(BENCH_COMPRESSION)
.PHONY: bench-dirs

# What cosign signature verification adds to an upgrade of a small image
# (issue 15: <= 50 ms), against the same upgrade without a policy, same run.
bench-signatures: $(BUILD)/kairos-upgrade
	$(Q)bash bench/signatures.sh $(BUILD)/kairos-upgrade $(BENCH_SIG_ROUNDS)
.PHONY: bench-signatures

# Issue 16's table: our pull (default compression, zstd:3) against the scripted
# pipeline, mksquashfs zstd:15 and the I/O floor, from a local docker-registry,
# on the reference OS and a multi-GB image made from the host's /usr (cached in
# /var/cache/kairos/bench), with the bytes the registry served and a v1 -> v2
# upgrade. BENCH_CURVE=1 adds our zstd level curve and xz. Minutes; root.
bench-pull: $(BUILD)/kairos-upgrade $(BUILD)/kairos-boot
	$(Q)bash bench/pull.sh $(BUILD)/kairos-upgrade $(BENCH_DIR)/pull
.PHONY: bench-pull

# Issue 17: what the dm-verity tree adds to a build (<= 5 %), its size, and
# a cold sequential read through the tree against a plain one (<= 10 %), on
# the reference OS and a generated image. Minutes; root (drops the page cache).
bench-verity: $(BUILD_FROM_TARS) $(BUILD)/kairos-upgrade
	$(Q)bash bench/verity.sh $(BUILD_FROM_TARS) $(BUILD)/kairos-upgrade $(BENCH_DIR)/verity
.PHONY: bench-verity
