#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# upgrade-entrypoint.sh: the upgrade container of plan.yaml.
#
# system-upgrade-controller runs this in a privileged pod that shares the
# host's PID namespace, on a node it has already cordoned and drained (the
# Plan's `drain:`; this script does neither). Everything that touches the
# node runs in PID 1's namespaces through nsenter: the host's own
# kairos-upgrade, with the host's mounts (/run/kairos/state, /dev, /proc),
# network, hooks and init. The OS image is pulled by the host, never by
# this container.
#
#   1. The node runs the requested image: wait until it is confirmed
#      (kairos-mark-good.service, after the health checks), exit 0.
#   2. The node fell back from an image that did not boot (to passive or to
#      recovery), or a person chose recovery: fail, and do not upgrade over
#      the image that works nor reboot (FORCE=true upgrades anyway). After
#      `kairos-upgrade rollback` on the node the running image is active
#      again: the upgrade goes on, no reboot needed first.
#   3. Otherwise install it (kairos-upgrade upgrade, as a transient unit of
#      the host's systemd; a no-op when the active slot already holds that
#      digest) and reboot into it, but only when the next boot will be that
#      image (`status`'s next_boot): never a reboot that boots the same
#      thing again, which would loop the node.
#
# The reboot ends this pod; the Job starts a new one once the node is back,
# and that one lands in case 1. So the Job completes, and the controller
# uncordons the node and moves to the next one, only once the node runs the
# new image and has confirmed it. The controller reruns Jobs: every case is
# safe to repeat.
#
# Environment (the Plan sets it):
#   OS_IMAGE         the OS image repository, no tag: registry.example.com/os
#   SYSTEM_UPGRADE_PLAN_LATEST_VERSION
#                    the Plan's spec.version (set by the controller): the tag
#   OS_VERSION       overrides that tag (a run by hand)
#   REGISTRY_SECRET_DIR  where the Plan mounts a kubernetes.io/dockerconfigjson
#                    Secret (default below); its .dockerconfigjson is used
#   UPGRADE_ARGS     more kairos-upgrade options (--insecure, --ca-file FILE
#                    with FILE a path on the host), split at blanks, never
#                    expanded as file names (no spaces inside an option)
#   FORCE            true: upgrade even after a fallback (kairos-upgrade --force)
#   CONFIRM_TIMEOUT  seconds to wait for the confirmation (600)
#   REBOOT_TIMEOUT   seconds to wait for the node to go down (600)
set -eu

me=kairos-upgrade-pod
log() { printf '%s: %s\n' "$me" "$*"; }
die() {
	printf '%s: error: %s\n' "$me" "$*" >&2
	exit 1
}
host() { nsenter --target 1 --mount --uts --ipc --net --pid --cgroup -- "$@"; }
# The upgrade runs as a transient unit of the host's systemd, not as a child
# of this pod: in the pod's cgroup, deleting the pod or the Job's deadline
# would kill a build midway. --pipe passes its output and --wait its exit
# status; a unit's stdout that is gone (the pod ended) does not stop it
# (systemd ignores SIGPIPE for services). One name, so a second pod waits for
# the first one's upgrade instead of starting another.
unit=kairos-upgrade-k8s
short() { printf '%.12s' "$1"; }

version=${OS_VERSION:-${SYSTEM_UPGRADE_PLAN_LATEST_VERSION:-}}
secret_dir=${REGISTRY_SECRET_DIR:-/run/system-upgrade/secrets/kairos-registry}
node=${SYSTEM_UPGRADE_NODE_NAME:-this node}

[ -n "${OS_IMAGE:-}" ] || die "OS_IMAGE is not set: the Plan's upgrade.envs names the OS image repository (no tag)"
[ -n "$version" ] || die "no version: set spec.version in the Plan (the OS image tag), or OS_VERSION"
case ${OS_IMAGE##*/} in
*[:@]*) die "OS_IMAGE=$OS_IMAGE has a tag or digest: give the repository only, the tag is the Plan's spec.version" ;;
esac
source="oci:$OS_IMAGE:$version"
command -v jq >/dev/null || die "jq is missing from this container image"
out=$(host true 2>&1) ||
	die "cannot enter the host's namespaces (nsenter --target 1): the pod needs hostPID and a privileged securityContext, as plan.yaml gives it. nsenter said: $out"

# read_status: the host's `kairos-upgrade status --json`, in shell variables.
read_status() {
	st=$(host kairos-upgrade status --json) ||
		die "'kairos-upgrade status' failed on the host: is $node a kairos-c node (kairos-upgrade on its PATH, its state partition on /run/kairos/state)?"
	printf '%s' "$st" | jq -e 'type == "object"' >/dev/null 2>&1 ||
		die "'kairos-upgrade status --json' on the host printed no JSON object"
	booted_slot=$(get .booted.slot)
	booted_reason=$(get .booted.reason)
	booted_image=$(get .booted.image)
	booted_why=$(get .booted.why)
	active_image=$(get .slots.active.image)
	active_source=$(get .slots.active.source)
	active_status=$(get .slots.active.status)
	next_slot=$(get .next_boot.slot)
	next_why=$(get .next_boot.why)
}
get() { printf '%s' "$st" | jq -r "$1 // empty"; }

running_requested() {
	[ "$booted_slot" = active ] && [ -n "$active_image" ] && [ "$booted_image" = "$active_image" ]
}

# The Job must not complete before the new image has passed its health
# checks, or a broken release would roll on to the next node.
wait_confirmed() {
	timeout=${CONFIRM_TIMEOUT:-600}
	deadline=$(($(date +%s) + timeout))
	while :; do
		case $active_status in
		good)
			log "$node runs $source ($(short "$active_image")), confirmed good: done"
			exit 0
			;;
		bad) die "$node runs $source but it is marked bad; the next boot falls back. See 'kairos-upgrade status' on the node" ;;
		esac
		[ "$(date +%s)" -lt "$deadline" ] ||
			die "$node runs $source, but it is not confirmed after $timeout s: its health checks have not passed (kairos-mark-good.service waits for boot-complete.target). The node stays cordoned. On it, 'kairos-upgrade status' says more; 'kairos-upgrade mark-bad' and a reboot fall back to the previous image"
		log "$node runs $source ($(short "$active_image")); waiting for its health checks to confirm it (status: $active_status)"
		sleep "${CONFIRM_POLL:-10}"
		read_status
	done
}

read_status
log "$node booted $booted_slot ($(short "$booted_image")); active is ${active_source:-empty}; wanted: $source"

# 1. Already there (as installed by an earlier run of this Job).
if [ "$active_source" = "$source" ] && running_requested; then
	wait_confirmed
fi

# 2. After a fallback the image that boots is not the one the node was
# given; an upgrade would push out the one that works (kairos-upgrade refuses
# too, without --force), and a reboot boots the same fallback again. Unless
# the operator ran `kairos-upgrade rollback`: then the running image is
# active again, and the upgrade is the usual one (--force only because the
# boot record says fallback until the next boot).
force=
if [ "${FORCE:-}" = true ]; then
	force=--force
elif [ "$booted_reason" = fallback ] && [ "$booted_slot" = passive ] && [ -n "$booted_image" ] &&
	[ "$booted_image" = "$active_image" ] && [ "$active_status" = good ]; then
	log "$node fell back, then its running image was rolled back to active: upgrading from it"
	force=--force
elif [ "$booted_reason" = fallback ]; then
	die "$node fell back to its $booted_slot image: the active one (${active_source:-unknown}) did not boot (${booted_why:-no reason recorded}). Not upgrading over the image that works, nor rebooting. On the node, 'kairos-upgrade status' says more; 'kairos-upgrade rollback' keeps the running image (when it is passive), and the Job's next try upgrades from it. Or set FORCE=true in the Plan's upgrade.envs to upgrade anyway"
elif [ "$booted_slot" = recovery ]; then
	die "$node runs its recovery image (${booted_why:-$booted_reason}): a person chose it. Not upgrading or rebooting it; boot it back into its active image, and the Job's next try goes on (FORCE=true upgrades anyway)"
fi

# 3. Install (unless an earlier run did and stopped before its reboot).
if host systemctl is-active -q "$unit.service"; then
	log "an upgrade started by an earlier pod is still running on $node ($unit.service): waiting for it"
	while host systemctl is-active -q "$unit.service"; do sleep "${CONFIRM_POLL:-10}"; done
	read_status
fi
if [ "$active_source" = "$source" ] && [ "$active_status" = new ] && [ "$booted_reason" != fallback ]; then
	log "$source is already installed as active ($(short "$active_image")) but not booted yet"
else
	auth="$secret_dir/.dockerconfigjson"
	setenv=
	if [ -r "$auth" ]; then
		# With hostPID the host sees this container's files under /proc/PID/root:
		# the secret reaches kairos-upgrade without a copy on the host's disk or
		# a password on its command line (--creds would show in ps).
		setenv="--setenv=REGISTRY_AUTH_FILE=/proc/$$/root$auth"
		log "registry credentials: $auth"
	else
		log "no $auth: kairos-upgrade uses the host's registry credentials, if any"
	fi
	log "installing $source on $node"
	# $setenv, $force and $UPGRADE_ARGS are lists of options: split them at
	# blanks, but never expand them as file names (set -f): a * in them is
	# the host's business, not this container's files.
	set -f
	# shellcheck disable=SC2086
	host systemd-run --wait --pipe --quiet --collect --unit="$unit" $setenv -- \
		kairos-upgrade upgrade --source "$source" $force ${UPGRADE_ARGS:-} ||
		die "kairos-upgrade upgrade failed on $node (exit $?; its message is above). The node still boots the image it had; the Job fails and the controller retries it"
	set +f
	read_status
	if running_requested; then
		log "the active image ($(short "$active_image")) is the one $node runs: no reboot needed"
		wait_confirmed
	fi
fi

# 4. Reboot into it, only if the next boot is that image: anything else
# (a boot-next, an active slot that is bad or out of tries) would boot what
# runs now again, and the next pod would reboot it again. The reboot ends
# this pod.
read_status
if [ "$next_slot" != active ] || [ "$active_source" != "$source" ]; then
	die "not rebooting $node: its next boot would be ${next_slot:-unknown} (${next_why:-no reason given}), not $source in the active slot ($(short "$active_image"), status ${active_status:-unknown}). See 'kairos-upgrade status' on the node"
fi
log "rebooting $node into $source ($(short "$active_image")); the Job's next pod confirms it"
host systemctl reboot || die "'systemctl reboot' failed on $node"
sleep "${REBOOT_TIMEOUT:-600}"
die "$node did not go down within ${REBOOT_TIMEOUT:-600} s of the reboot request; see its journal"
