#!/usr/bin/env bash
# Installs the Debian packages the tests and the training data need, when
# missing: emoji font + Unicode/CLDR data (training data), cairo (SVG emoji),
# public-domain clipart (the second demo collection),
# Chromium + its driver (the browser test), HAProxy (serving a class from
# several processes). Without root it only says what to do.
set -euo pipefail
packages=(fonts-noto-color-emoji unicode-data unicode-cldr-core libcairo2 openclipart-svg chromium haproxy)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "Missing Debian packages: ${missing[*]} (install them with apt-get; tests needing them will be skipped)" >&2
fi
