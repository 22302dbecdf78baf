# SPDX-License-Identifier: MIT
# Sourced by the kernel benchmarks: a bench-made cgroup, pin dir and network namespace for one
# portgated ($PID), all removed on exit. BENCH_NAME says which bench skipped when they cannot
# be made.
CGM=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
ID=$$-$RANDOM
CG=$CGM/portgate-bench-$ID PIN=/sys/fs/bpf/portgate-bench-$ID NS=pgb-$ID
T=$(mktemp -d /tmp/portgate-bench.XXXXXX)
PID=
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=; }
cleanup() { stop; rm -rf "$PIN" "$T"; rmdir "$CG" 2>/dev/null; ip netns del "$NS" 2>/dev/null; }
trap cleanup EXIT
mkdir "$CG" && ip netns add "$NS" || { echo "$BENCH_NAME bench skipped: cannot make a cgroup/netns"; exit 0; }
