# bench/: `make bench` (not part of check) compares our streaming build with
# tar2sqfs (the streaming limit) and umoci unpack + mksquashfs (the scripted
# pipeline) on the same tree, compressor and level, in the same run.
BENCH_DIR ?= /tmp/kairos-bench
BENCH_COMPRESSION ?= zstd:3

bench: $(BUILD_FROM_TARS)
	$(Q)bash bench/run.sh $(BUILD_FROM_TARS) $(BENCH_DIR) $(BENCH_COMPRESSION)
.PHONY: bench
