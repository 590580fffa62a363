#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dracut cmdline hook: root=kairos is ours. Claim it so that dracut waits
# for no root device of its own; kairos-boot finds the partitions itself.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

[ -z "$root" ] && root=$(getarg root=)
if [ "$root" = kairos ]; then
    rootok=1
    info "kairos: root=kairos, the root is assembled by kairos-boot"
fi
