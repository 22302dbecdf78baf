#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs "$@" as root: directly when we are root, else through sudo when it exists.
if [ "$(id -u)" -eq 0 ]; then
	exec "$@"
fi
if command -v sudo >/dev/null 2>&1; then
	echo "portgate: not root, re-running through sudo: $*" >&2
	exec sudo -E "$@"
fi
echo "portgate: this needs root (BPF, nftables, apt-get) and there is no sudo here; run it as root" >&2
exit 1
