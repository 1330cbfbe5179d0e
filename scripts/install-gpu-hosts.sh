#!/usr/bin/env bash
# Installs the GPU hosts the test suite uses on a GPU-less Debian 12 machine:
#   - Debian's chromium: a headless browser (WebGPU/WebGL2 tests) and the
#     SwiftShader Vulkan driver it ships;
#   - Mesa 25 lavapipe from bookworm-backports (a faster software Vulkan driver
#     for Dawn; Debian 12's own Mesa 22 is too old for Dawn).
# Idempotent; needs root (or sudo). See docs/webgpu.md.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

# Debian 12's own mesa-vulkan-drivers (22.3) also ships a lavapipe ICD (lvp_icd.x86_64.json), too
# old for Dawn: only Mesa 25 or later (ICD file lvp_icd.json) counts as installed.
LVP_ICD=/usr/share/vulkan/icd.d/lvp_icd.json
lavapipe_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null) || return 1
  dpkg --compare-versions "$v" ge 25 && [ -f "$LVP_ICD" ] &&
    dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "install ok installed"
}

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
lavapipe_ok || need+=(lavapipe)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-gpu-hosts: chromium and lavapipe already installed"
  exit 0
fi

if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" |
    $SUDO tee /etc/apt/sources.list.d/nnc-backports.list >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium libvulkan1 >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
lavapipe_ok || {
  echo "install-gpu-hosts: mesa-vulkan-drivers >= 25 did not install (lavapipe ICD $LVP_ICD)" >&2
  exit 1
}
echo "install-gpu-hosts: installed chromium $(chromium --version 2>/dev/null | awk '{print $2}') and lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) ($LVP_ICD)"
