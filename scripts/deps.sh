#!/bin/sh
# Install every Debian package the build, the tests and the demo need.
# Idempotent: prints nothing and touches nothing when all are present;
# runs `apt-get update` only when something is missing.
set -eu

PACKAGES="
build-essential pkg-config
libsquashfs-dev libarchive-dev libcurl4-openssl-dev libjansson-dev libssl-dev
libblkid-dev libzstd-dev zlib1g-dev liblzma-dev
libcmocka-dev clang libclang-rt-14-dev cppcheck clang-tidy clang-format
grub-common grub2-common grub-pc-bin grub-efi-amd64-bin ovmf
qemu-system-x86 qemu-utils
docker-registry umoci skopeo apache2-utils openssl buildah
squashfs-tools squashfs-tools-ng cryptsetup-bin
dracut-core kmod cpio busybox-static
mmdebstrap xorriso mtools dosfstools e2fsprogs fdisk util-linux
zstd xz-utils gzip isal jq python3 python3-yaml python3-cryptography python3-nacl curl strace file
systemd
grub-emu
nodejs npm
"

# The Debian docker-registry service listens on :5000 for anyone, without
# auth; the tests and the demo start their own on 127.0.0.1. So it is never
# left enabled: stopped, disabled and masked (systemctl unmask to use it).
# (one verb a call: without a running systemd, stop fails, disable and mask
# still work on the files)
quiet_registry() {
	systemctl stop docker-registry.service >/dev/null 2>&1 || true
	systemctl disable docker-registry.service >/dev/null 2>&1 || true
	systemctl mask docker-registry.service >/dev/null 2>&1 || true
}
registry_enabled() {
	command -v systemctl >/dev/null &&
		systemctl is-enabled docker-registry.service 2>/dev/null | grep -qx 'enabled\|enabled-runtime'
}

missing=""
for p in $PACKAGES; do
	# NodeSource's nodejs ships npm and conflicts with Debian's npm package
	[ "$p" = npm ] && command -v npm >/dev/null && continue
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
	registry_enabled || exit 0
	[ "$(id -u)" -eq 0 ] || { echo "deps.sh: docker-registry.service is enabled (:5000 without auth): run as root to disable it" >&2; exit 1; }
	echo "deps.sh: disabling docker-registry.service (it listens on :5000 without auth)"
	quiet_registry
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start services (docker-registry's default config
# listens on all interfaces); the tests start their own on 127.0.0.1.
# DEPS_POLICY_RC: tests/tools points it at a file of its own.
policy=${DEPS_POLICY_RC:-/usr/sbin/policy-rc.d}
own_policy=0
cleanup() {
	if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
}
# dash runs no EXIT trap on a signal: exit from the signal's trap, so that
# Ctrl-C never leaves "exit 101" in place (no daemon would restart after a
# later upgrade).
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
if [ ! -e "$policy" ]; then
	own_policy=1
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
case " $missing " in *" docker-registry "*) quiet_registry ;; esac
echo "deps.sh: done"
