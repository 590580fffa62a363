# tests/hostile/: `kairos-upgrade pull` against a registry of our own that
# misbehaves on purpose (tests/hostile/server.py: Python's http.server on
# 127.0.0.1): malformed and oversized manifests, wrong lengths, truncated and
# dripping blobs, redirect loops and cross-host redirects, 401 loops,
# decompression bombs, a config that fails its digest. About a minute.
CHECK_SUITES += hostile

check-hostile: deps $(BUILD)/kairos-upgrade
	$(Q)$(RUN_SUITE) hostile tests/hostile/run.sh $(BUILD)/kairos-upgrade
.PHONY: check-hostile
