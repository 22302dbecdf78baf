#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages portgate builds, runs and tests with.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

PKGS=(
	build-essential pkg-config clang llvm
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libnftnl-dev libmnl-dev nftables iproute2
	libhiredis-dev redis-server redis-tools
	libssl-dev libjansson-dev libinih-dev libsystemd-dev libcap-dev libseccomp-dev
	libcmocka-dev libclang-rt-14-dev
	curl procps psmisc util-linux valgrind
	jq
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a system redis-server on install; portgate runs its own, so keep
# the host's copy from holding port 6379 (a restricted port) in tests.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q redis-server 2>/dev/null; then
	systemctl stop redis-server || true
	systemctl disable -q redis-server || true
fi
