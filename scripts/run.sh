#!/bin/sh
# SPDX-License-Identifier: MIT
# `make run`: portgated in the foreground with its embedded Redis, ready to use.
# Extra settings come from /etc/portgate/portgate.conf and PORTGATE_* (docs/config.md).
set -e
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
getent group portgate >/dev/null 2>&1 || groupadd --system portgate 2>/dev/null || true
echo "portgate: starting portgated (Ctrl-C stops it); in another shell try:"
echo "  $BUILD/portgate service create my-app"
exec "$BUILD/portgated" "$@"
