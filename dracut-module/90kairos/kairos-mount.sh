#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dracut mount hook: kairos-boot chooses and counts the slot, mounts its
# image with the overlays and persistent binds and moves the result onto
# $NEWROOT. It reboots by itself on a fatal error; if it still returns a
# failure, dracut's emergency handler reboots (rd.emergency=reboot).
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

if [ "$root" = kairos ] && ! ismounted "$NEWROOT"; then
    # Loaded up front rather than on demand: kairos-boot uses finit_module
    # only in its own /init mode, and the kernel's on-demand loading would
    # race udev for the disk drivers.
    modprobe -a -q loop squashfs overlay ext4 crc32c_generic vfat nls_cp437 nls_ascii \
        isofs sr_mod dm_verity 2>/dev/null
    if ! kairos-boot mount --root "$NEWROOT"; then
        warn "kairos: kairos-boot could not assemble the root"
        emergency_shell --shutdown kairos "kairos-boot failed"
    fi
fi
