#!/usr/bin/env bash
# Install Overcast into ./.venv on Debian 12 / Python 3.11 (system packages too when root).
# Usage: bash scripts/install.sh [--test]     (--test: also the test dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="[client]"
[[ "${1:-}" == "--test" ]] && extra="[client,test]"

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  # System packages: python venv support, QEMU and the guest-image tools (scripts/apt-packages.txt).
  pkgs=(python3-venv python3-dev)
  if [[ -f scripts/apt-packages.txt ]]; then
    mapfile -t more < <(grep -v '^\s*#' scripts/apt-packages.txt | grep -v '^\s*$' | sort -u)
    pkgs+=("${more[@]}")
  fi
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
  fi
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ".${extra}"
echo "installed: $(.venv/bin/overcast --help >/dev/null && echo .venv/bin/overcast)"
