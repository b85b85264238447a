#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build needs, only when missing (apt-get as root, sudo otherwise).
# libopenmpi-dev + openmpi-bin: data-parallel training (`mpirun -np N ipiqa train`) and its tests (Tests/DataParallelTests).
# chromium + chromium-driver: the headless-browser test of `ipiqa serve`'s web page (Tests/IQAServiceTests).
set -euo pipefail
packages=(libopenblas-dev libjpeg-dev libpng-dev libwebp-dev zlib1g-dev pkg-config libopenmpi-dev openmpi-bin chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "error: a Swift 6 toolchain is required (swift not found on PATH); see https://www.swift.org/install/linux/" >&2
  exit 1
fi
