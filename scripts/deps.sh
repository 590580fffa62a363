#!/bin/sh
# Install every Debian package the build, the tests and the demo need.
# Idempotent: prints nothing and touches nothing when all are present;
# runs `apt-get update` only when something is missing.
set -eu

PACKAGES="
build-essential pkg-config
libsquashfs-dev libarchive-dev libcurl4-openssl-dev libjansson-dev libssl-dev
libblkid-dev libzstd-dev zlib1g-dev liblzma-dev
libcmocka-dev clang libclang-rt-14-dev cppcheck clang-tidy
grub-common grub2-common grub-pc-bin grub-efi-amd64-bin ovmf
qemu-system-x86 qemu-utils
docker-registry umoci skopeo apache2-utils openssl buildah
squashfs-tools squashfs-tools-ng
dracut-core kmod cpio busybox-static
mmdebstrap xorriso mtools dosfstools e2fsprogs fdisk util-linux
zstd xz-utils gzip jq python3 python3-yaml curl strace file
grub-emu
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start services (docker-registry's default config
# listens on all interfaces); the tests start their own on 127.0.0.1.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps.sh: done"
