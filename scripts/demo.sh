#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR: the README's walkthrough — vmctl against real daemons under
# a temporary MODVIRT_ROOT, cleaned up (daemons stopped by pid) on exit.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$top/build}/bin" && pwd)
root=$(mktemp -d /tmp/modvirt-demo.XXXXXX)
export MODVIRT_ROOT=$root
unset MODVIRT_DEFAULT_URI LIBVIRT_DEFAULT_URI

cleanup() {
  # guests run detached from virtqemud: a walkthrough that stopped half-way leaves them
  for pidfile in "$root"/run/modvirt/qemu/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  for pidfile in "$root"/run/modvirt/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  # give them a moment to exit cleanly, then force
  for pidfile in "$root"/run/modvirt/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] && timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || true
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$root"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ vmctl %s\033[0m\n' "$*"; "$bin/vmctl" "$@"; }

echo "MODVIRT_ROOT=$root (daemons start on demand and are stopped at the end)"
step version
step -c qemu:///system uri
step define "$top/examples/demo-domain.xml"
step list --all
step dominfo demo
step domstate demo --reason
step dumpxml demo
step autostart demo
step list --all --autostart
step --json list --all
step -r list --all
echo; echo "# a read-only connection may not change anything:"
"$bin/vmctl" -r undefine demo || true
step undefine demo
step list --all

# A real guest: the tiny test guest (Debian's cloud kernel + a busybox initramfs, built
# once into the build dir's test-cache without installing anything) under TCG.
cache=${MODVIRT_TEST_CACHE:-$(dirname "$bin")/test-cache}
echo; echo "# building (or reusing) the tiny guest in $cache"
if ! guest=$("$top/tests/guest/build-tiny-guest.sh" "$cache"); then
  echo "# the tiny guest cannot be built on this machine (reason above): no real guest"
else
  kernel=$(echo "$guest" | awk '$1 == "kernel" {print $2}')
  initrd=$(echo "$guest" | awk '$1 == "initrd" {print $2}')
  sed -e "s|@NAME@|tiny|" -e "s|@KERNEL@|$kernel|" -e "s|@INITRD@|$initrd|" \
    "$top/tests/guest/tiny-guest.xml.in" >"$root/tiny.xml"
  step define "$root/tiny.xml"
  step start tiny
  step list
  step domstate tiny --reason
  step suspend tiny
  step domstate tiny --reason
  step resume tiny
  step dominfo tiny
  step destroy tiny
  step domstate tiny --reason
  step undefine tiny
fi
echo; echo "walkthrough finished"
