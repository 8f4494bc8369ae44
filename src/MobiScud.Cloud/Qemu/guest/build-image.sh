#!/bin/sh
# Builds the PVM guest: a Debian cloud kernel (from its .deb) plus a busybox initramfs whose /init runs
# the user-facing services. Usage: build-image.sh OUT_DIR KERNEL_PACKAGE
# Writes OUT_DIR/vmlinuz, OUT_DIR/initrd.gz and OUT_DIR/kernel-version. No root needed.
set -eu
out=$1
pkg=$2
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
if [ -z "$busybox" ]; then
  echo "busybox is not installed: apt-get install -y busybox-static" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download "$pkg" >/dev/null 2>apt.err || { cat apt.err >&2; echo "apt-get download $pkg failed (run apt-get update?)" >&2; exit 3; }
dpkg-deb -x ./*.deb k
kver=$(ls k/lib/modules | head -n1)
mkdir -p root/bin root/lib/modules root/proc root/sys root/dev root/tmp root/data root/etc
cp "$busybox" root/bin/busybox
# virtio drivers are modules in Debian's cloud kernel; this order satisfies their dependencies.
for m in net/core/failover drivers/net/net_failover drivers/virtio/virtio_ring drivers/virtio/virtio \
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci \
  drivers/virtio/virtio_mmio drivers/net/virtio_net drivers/block/virtio_blk; do
  f=$(ls "k/lib/modules/$kver/kernel/$m.ko"* | head -n1)
  case "$f" in
    *.xz) xz -dc "$f" >"root/lib/modules/$(basename "$m").ko" ;;
    *.zst) zstd -qdc "$f" >"root/lib/modules/$(basename "$m").ko" ;;
    *) cp "$f" "root/lib/modules/$(basename "$m").ko" ;;
  esac
done
cp k/boot/vmlinuz-* "$out/vmlinuz.tmp"

cat >root/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in failover net_failover virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio virtio_net virtio_blk; do
  insmod /lib/modules/$m.ko
done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
# Data-plane NIC (optional): mobiscud.ip=A/P mobiscud.gw=G mobiscud.gwmac=M mobiscud.route=N/L,... The NIC is
# the one with the conventional MAC 02:00 + the address's 4 bytes (shared with the SDN layer), normally eth1.
arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
dip=$(arg mobiscud.ip)
data=""
if [ -n "$dip" ]; then
  daddr=${dip%/*}
  dmac=$(printf '02:00:%02x:%02x:%02x:%02x' $(echo "$daddr" | tr . ' '))
  for d in /sys/class/net/*; do
    [ "$(cat "$d/address")" = "$dmac" ] && ddev=${d##*/}
  done
  if [ -z "${ddev:-}" ]; then
    echo "MOBISCUD-DATA-ERROR no NIC has MAC $dmac"
  else
    ip link set "$ddev" up
    ip addr add "$dip" dev "$ddev"
    gw=$(arg mobiscud.gw)
    gwmac=$(arg mobiscud.gwmac)
    # Static: the guest never has to ARP for its gateway, before or after a migration.
    [ -n "$gw" ] && [ -n "$gwmac" ] && arp -i "$ddev" -s "$gw" "$gwmac"
    for r in $(arg mobiscud.route | tr , ' '); do
      ip route replace "$r" via "$gw" dev "$ddev" || echo "MOBISCUD-DATA-ERROR route $r via $gw"
    done
    data=" data=$dip dev=$ddev"
  fi
fi
# The user's persistent disk: formatted on first boot, kept across migrations by the block mirror.
if [ -b /dev/vda ]; then
  mount -t ext2 /dev/vda /data 2>/dev/null || { mke2fs -q /dev/vda >/dev/null 2>&1 && mount -t ext2 /dev/vda /data; }
  mkdir -p /data/kv
fi
mkdir -p /run/kv
# Written once: a migrated guest keeps it, a rebooted one gets a new one.
head -c 16 /dev/urandom | hexdump -e '16/1 "%02x"' >/run/token
dirty=$(sed -n 's/.*mobiscud\.dirty=\([0-9]*\).*/\1/p' /proc/cmdline)
nc -ll -p 7 -e cat &
nc -ll -p 8 -e /bin/kv &
nc -ll -p 9 -e /bin/token &
if [ -n "$dirty" ] && [ "$dirty" -gt 0 ]; then
  /bin/dirty "$dirty" &
fi
echo "MOBISCUD-READY token=$(cat /run/token)$data"
while :; do sleep 3600; done
INIT

# Key-value service, one request line per connection: PUT k v | GET k (memory) | DGET k (disk) | TOKEN.
cat >root/bin/kv <<'KV'
#!/bin/sh
read -r cmd key value || exit 0
case "$key" in *[!A-Za-z0-9_.-]*) echo "ERR bad key"; exit 0 ;; esac
case "$cmd" in
  PUT) [ -n "$key" ] || { echo "ERR no key"; exit 0; }
       printf '%s' "$value" >/run/kv/"$key"
       if [ -d /data/kv ]; then printf '%s' "$value" >/data/kv/"$key" && sync; fi
       echo "OK" ;;
  GET) if [ -f /run/kv/"$key" ]; then echo "VALUE $(cat /run/kv/"$key")"; else echo "MISSING"; fi ;;
  DGET) if [ -f /data/kv/"$key" ]; then echo "VALUE $(cat /data/kv/"$key")"; else echo "MISSING"; fi ;;
  TOKEN) echo "TOKEN $(cat /run/token)" ;;
  MEMINFO) cat /proc/meminfo ;;
  *) echo "ERR unknown command" ;;
esac
KV

cat >root/bin/token <<'TOK'
#!/bin/sh
echo "TOKEN $(cat /run/token) UPTIME $(cut -d' ' -f1 /proc/uptime)"
TOK

# Keeps N MiB of RAM changing: each pass copies random data rotated by a different page offset, so
# every page gets new contents (no help from zero-page detection or identical-page deltas).
cat >root/bin/dirty <<'DIRTY'
#!/bin/sh
n=$1
pages=$((n * 256))
dd if=/dev/urandom of=/run/dirty.src bs=1M count="$n" 2>/dev/null
dd if=/dev/zero of=/run/dirty.hot bs=1M count="$n" 2>/dev/null
k=1
while :; do
  dd if=/run/dirty.src of=/run/dirty.hot bs=4k skip="$k" conv=notrunc 2>/dev/null
  dd if=/run/dirty.src of=/run/dirty.hot bs=4k seek=$((pages - k)) count="$k" conv=notrunc 2>/dev/null
  k=$(( k % (pages - 1) + 1 ))
done
DIRTY
chmod +x root/init root/bin/kv root/bin/token root/bin/dirty
(cd root && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) >"$out/initrd.gz.tmp"
echo "$kver" >"$out/kernel-version"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
