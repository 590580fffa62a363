#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dracut module "kairos": the root is assembled by kairos-boot from the
# image of the slot it chooses (docs/DESIGN.md), selected by root=kairos.

# Only when asked for (--modules kairos, or add_dracutmodules+=" kairos "):
# nothing on the build host says whether it boots a Kairos disk.
check() {
    return 255
}

depends() {
    echo base
    return 0
}

# The modules kairos-boot needs to find the state partition and mount an
# image: disk drivers, loop + squashfs for the image, overlay for the tmpfs
# overlays, ext4 (with crc32c, asked for by name) and vfat for partitions;
# for a live boot (kairos.live=) the CD-ROM drivers and iso9660, and USB
# storage with its host controllers (a live ISO written to a stick); and
# dm-verity with what it needs (dm-mod, whose /dev/mapper/control kairos-boot
# opens, making the node when udev has not; dm-bufio) for an image whose
# slot has a verity record in state.env.
# scripts/mk-os-image keeps these in the reference OS (tests/tools checks).
installkernel() {
    hostonly='' instmods loop squashfs overlay ext4 crc32c_generic vfat nls_cp437 nls_ascii \
        dm_mod dm_bufio dm_verity \
        virtio_pci virtio_blk virtio_scsi sd_mod ahci nvme \
        isofs sr_mod cdrom ata_piix \
        usb_storage uas xhci_pci xhci_hcd ehci_pci ehci_hcd
}

install() {
    # KAIROS_BOOT_BIN lets a build use a freshly built helper without
    # installing it on the build host.
    local bin=${KAIROS_BOOT_BIN:-$(command -v kairos-boot)}
    if [ -z "$bin" ] || [ ! -x "$bin" ]; then
        derror "kairos: kairos-boot not found (install it or set KAIROS_BOOT_BIN)"
        return 1
    fi
    inst_simple "$bin" /usr/bin/kairos-boot
    inst_multiple modprobe
    inst_hook cmdline 90 "$moddir/kairos-cmdline.sh"
    inst_hook mount 10 "$moddir/kairos-mount.sh"
    # Never a shell by default: any failure reboots so that the next boot
    # spends the next try. The kernel command line can still override these
    # (it is read after /etc/cmdline.d, and the last value wins).
    mkdir -p "$initdir/etc/cmdline.d"
    echo "rd.emergency=reboot rd.shell=0" >"$initdir/etc/cmdline.d/90kairos.conf"
}
