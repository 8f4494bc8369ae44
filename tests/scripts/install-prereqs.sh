#!/usr/bin/env bash
# Installs, from Debian's packages, what the integration tests drive for real: tshark (oracle for our
# decoders), Open vSwitch (edge switch), QEMU and a Debian cloud kernel (PVMs), iproute2/ethtool/tcpdump
# (namespaces). Idempotent: skips what is already there. Needs root; without it, says what to run.
set -euo pipefail
need=()
command -v tshark >/dev/null || need+=(tshark)
command -v ovs-vswitchd >/dev/null || need+=(openvswitch-switch)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v ethtool >/dev/null || need+=(ethtool)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tcpreplay >/dev/null || need+=(tcpreplay)
command -v ip >/dev/null || need+=(iproute2)
command -v redis-server >/dev/null || need+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
dpkg -s libpcap0.8 >/dev/null 2>&1 || need+=(libpcap0.8)
# The dashboard: npm restores its front-end packages (src/MobiScud.Hosting/Dashboard/web); its browser tests drive chromium.
command -v npm >/dev/null || need+=(npm)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing packages: ${need[*]}; run as root: apt-get update && apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing: ${need[*]}"
apt-get update -qq
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
