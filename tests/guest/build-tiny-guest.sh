#!/usr/bin/env bash
# tests/guest/build-tiny-guest.sh [CACHE_DIR]: builds the tiny test guest (Debian's cloud
# kernel + a busybox initramfs) into a cache and prints the kernel and initrd paths.
#
# Nothing is installed on the host: the kernel package is fetched with `apt-get download`
# and unpacked with `dpkg -x`; busybox comes from the host's busybox-static. The cache
# defaults to $MODVIRT_TEST_CACHE, else ./test-cache. Idempotent and safe to run from
# many tests at once (one flock around the build).
#
# Output on stdout, two lines:   kernel /abs/path/vmlinuz
#                                initrd /abs/path/initrd.cpio.gz
# Exit 0 on success; non-zero (reason on stderr) when the guest cannot be built.
#
# The guest's /init (see write_init below) prints MARKER on the serial console (ttyS0)
# once booted, then powers off when the ACPI power button is pressed (QMP
# system_powerdown). A line typed on the console is answered with MARKER again, and the
# lines "poweroff", "reboot" and "panic" make the guest do that itself, so tests can
# drive guest-initiated shutdowns, resets and crashes (a panic reaches QEMU through
# pvpanic when the domain has <panic model='isa'/>). "net ADDR/PREFIX PEER" gives eth0
# (a virtio NIC) ADDR and answers NET-OK PEER once PEER answered a ping, else NET-FAILED.
# "rtc SECONDS" sets the guest's clock that far ahead and writes it to the RTC (QEMU's
# RTC_CHANGE); "watchdog" starts an i6300esb watchdog to fire at once (QEMU's WATCHDOG).
set -euo pipefail

MARKER=MODVIRT-TINY-GUEST-READY
cache=${1:-${MODVIRT_TEST_CACHE:-$PWD/test-cache}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

die() { echo "build-tiny-guest: $*" >&2; exit 1; }

for tool in dpkg dpkg-deb apt-get cpio gzip flock; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
  # Only a static busybox runs inside an initramfs that has no libc.
  if [ -x "$b" ] && ! LC_ALL=C ldd "$b" >/dev/null 2>&1; then busybox=$b; break; fi
done
[ -n "$busybox" ] || die "no static busybox (apt-get install busybox-static)"

exec 9>"$cache/.lock"
flock 9

kernel_dir=$cache/kernel
initrd=$cache/initrd.cpio.gz

# 1. The kernel: the package linux-image-cloud-amd64 depends on, unpacked once.
fetch_kernel() {
  local pkg deb
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || die "apt-cache knows no linux-image-cloud-amd64 (run apt-get update)"
  mkdir -p "$cache/deb"
  deb=$(ls "$cache/deb/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    deb=$(ls "/var/cache/apt/archives/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
    if [ -n "$deb" ]; then
      cp "$deb" "$cache/deb/"
    else
      echo "build-tiny-guest: downloading $pkg" >&2
      (cd "$cache/deb" && apt-get download -q "$pkg" >&2) ||
        die "apt-get download $pkg failed"
    fi
    deb=$(ls "$cache/deb/${pkg}_"*.deb | head -n1)
  fi
  rm -rf "$kernel_dir.tmp"
  mkdir -p "$kernel_dir.tmp"
  dpkg -x "$deb" "$kernel_dir.tmp"
  rm -rf "$kernel_dir"
  mv "$kernel_dir.tmp" "$kernel_dir"
}

vmlinuz=$(ls "$kernel_dir"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
if [ -z "$vmlinuz" ]; then
  fetch_kernel
  vmlinuz=$(ls "$kernel_dir"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
  [ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in the kernel package"
fi

# The virtio modules the guest loads, in dependency order (all optional: an older kernel
# may build some in).
VIRTIO_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci"
VIRTIO_MODULES="$VIRTIO_MODULES virtio_balloon failover net_failover virtio_net"

# Copies module NAME.ko (plain, .xz or .zst) from the unpacked kernel, uncompressed.
# With OPTIONAL set, a missing module is skipped.
copy_module() { # copy_module NAME DEST_DIR [OPTIONAL]
  local f
  f=$(find "$kernel_dir/lib/modules" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" |
      head -n1)
  if [ -z "$f" ] && [ -n "${3:-}" ]; then return 0; fi
  [ -n "$f" ] || die "module $1 not found in the kernel package"
  case "$f" in
    *.xz) xz -dc "$f" >"$2/$1.ko" ;;
    *.zst) zstd -qdc "$f" >"$2/$1.ko" ;;
    *) cp "$f" "$2/$1.ko" ;;
  esac
}

write_init() { # write_init FILE
  cat >"$1" <<EOF
#!/bin/busybox sh
# The tiny guest's init: see tests/guest/build-tiny-guest.sh.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /lib/modules/button.ko 2>/dev/null
insmod /lib/modules/evdev.ko 2>/dev/null
# pvpanic tells QEMU about a kernel panic (a domain's <panic model='isa'/>)
insmod /lib/modules/pvpanic.ko 2>/dev/null
insmod /lib/modules/pvpanic-mmio.ko 2>/dev/null
# the virtio balloon's driver, so a <memballoon> target is given back (and QEMU reports it),
# and virtio-net's, so a NIC's traffic can be tested ('net' below)
for m in $VIRTIO_MODULES; do
  insmod /lib/modules/\$m.ko 2>/dev/null
done
button=""
for n in /sys/class/input/event*; do
  if grep -q "Power Button" "\$n/device/name" 2>/dev/null; then
    button=/dev/input/\${n##*/}
    break
  fi
done
# Open the power button before anything can report readiness: evdev queues a press
# only for a reader that has the device open.
[ -n "\$button" ] && exec 3<"\$button"
# Console commands: any line answers the marker again (a console attached after boot
# can ask for it); a few words make the guest act on its own.
(
  while read -r line; do
    case "\$line" in
      poweroff) poweroff -f ;;
      reboot) reboot -f ;;
      panic) echo c >/proc/sysrq-trigger ;;
      # 'rtc SECONDS': the clock set SECONDS ahead, and written to the RTC (QEMU: RTC_CHANGE)
      rtc\ *)
        set -- \$line
        date -s "@\$((\$(date +%s) + \$2))" >/dev/null && hwclock -w -u ;;
      # 'watchdog': the i6300esb watchdog (8086:25ab; the kernel has no driver for it) set
      # to fire at once and started (QEMU: WATCHDOG, then the domain's <watchdog action>)
      watchdog)
        for d in /sys/bus/pci/devices/*; do
          [ "\$(cat \$d/vendor):\$(cat \$d/device)" = 0x8086:0x25ab ] || continue
          echo 1 >\$d/enable
          set -- \$(head -n 1 \$d/resource)
          bar=\$((\$1))
          # each timer: the unlock sequence at 0x0c, then one tick
          for t in 0 4; do
            devmem \$((bar + 12)) 16 0x80 && devmem \$((bar + 12)) 16 0x86 &&
              devmem \$((bar + t)) 32 1
          done
          # config space 0x68 bit 1 enables it
          printf '\\002' | dd of=\$d/config bs=1 seek=104 count=1 2>/dev/null
        done ;;
      # 'net ADDR/PREFIX PEER': eth0 up with ADDR, one echo reply from PEER within 10 s
      net\ *)
        set -- \$line
        if ip link set eth0 up && ip addr replace "\$2" dev eth0 &&
           ping -c 1 -w 10 "\$3" >/dev/null 2>&1; then
          echo "NET-OK \$3"
        else
          echo "NET-FAILED \$3"
        fi ;;
    esac
    echo "$MARKER"
  done
) </dev/console >/dev/console 2>&1 &
echo "$MARKER"
if [ -n "\$button" ]; then
  # One struct input_event (24 bytes) from the power button, then off.
  dd of=/dev/null bs=24 count=1 <&3 2>/dev/null
  poweroff -f
fi
echo "tiny guest: no power button found" >&2
while :; do sleep 3600; done
EOF
  chmod 755 "$1"
}

# 2. The initramfs: rebuilt when missing or older than this script or the kernel.
if [ ! -s "$initrd" ] || [ "$self" -nt "$initrd" ] || [ "$vmlinuz" -nt "$initrd" ]; then
  work=$(mktemp -d "$cache/initrd.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work"/{bin,dev,proc,sys,lib/modules}
  cp "$busybox" "$work/bin/busybox"
  copy_module button "$work/lib/modules"
  copy_module evdev "$work/lib/modules"
  copy_module pvpanic "$work/lib/modules" optional
  copy_module pvpanic-mmio "$work/lib/modules" optional
  for m in $VIRTIO_MODULES; do
    copy_module "$m" "$work/lib/modules" optional
  done
  write_init "$work/init"
  (cd "$work" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n) \
    >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
fi

echo "kernel $vmlinuz"
echo "initrd $initrd"
