# tests/derived/: examples/derived/Dockerfile built with buildah from the
# reference OS in the local registry, pushed there, and a node upgraded to it
# from inside the VM (one VM, two boots); the kernel-less derived image
# refused on the host; the reference OS run as a container (buildah run); the
# Kubernetes upgrade container built and its entrypoint run inside it.
# buildah's storage is cached in /var/cache/kairos/buildah.
CHECK_SUITES += derived
LONG_SUITES += derived-long

check-derived: $(E2E_NEEDS)
	$(Q)$(RUN_SUITE) derived python3 tests/derived/run.py

# And a derived image whose Dockerfile breaks init, falling back (three
# failed boots more: too long for make check; tests/e2e's broken v3 covers
# the fallback there).
check-derived-long: $(E2E_NEEDS)
	$(Q)BROKEN_INIT=1 $(RUN_SUITE) derived-long python3 tests/derived/run.py
.PHONY: check-derived check-derived-long
