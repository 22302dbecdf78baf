#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# port-add latency and rate with enforcement on (BPF on a bench-made cgroup, nftables in a
# bench-made netns) next to the same daemon registry-only, in one run. Markdown on stdout.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_NAME=enforcement
. scripts/bench/kernel_env.sh # (the repository root is the working directory)

run() { # run LABEL ARGS...: one daemon, 1 client then 32 clients
	local label=$1; shift
	rm -rf "$T/state"; : >"$T/portgate.conf"
	PORTGATE_CONFIG=$T/portgate.conf "$BUILD/portgated" --state-dir "$T/state" --socket "$T/pg.sock" \
		--host "bench-$label" --metrics off "$@" >"$T/log-$label" 2>&1 &
	PID=$!
	for _ in $(seq 200); do curl -s --unix-socket "$T/pg.sock" http://localhost/v1/health | grep -q '"registry":true' && break; sleep 0.05; done
	"$BUILD/portgate" --socket "$T/pg.sock" service create b >/dev/null
	one=$("$BUILD/tools/pg_storm" "$T/pg.sock" b exposed 1 2000 "$T/a1" 120)
	many=$("$BUILD/tools/pg_storm" "$T/pg.sock" b exposed 32 10000 "$T/a2" 120)
	stop
	f() { sed "s/.*$1=\([0-9]*\).*/\1/" <<<"$2"; }
	echo "| $label | $(f p50_us "$one") µs | $(f p99_us "$one") µs | $(f rate "$many") | $(f p50_us "$many") µs | $(f p99_us "$many") µs |"
}
echo "### port-add with enforcement on vs registry only ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r))"
echo
echo "Command: \`make bench\` (scripts/bench/enforce.sh: 2,000 sequential port-adds, then 10,000 from 32 clients)"
echo
echo "| daemon | 1 client p50 | 1 client p99 | 32 clients ops/s | 32 clients p50 | 32 clients p99 |"
echo "|---|---|---|---|---|---|"
run registry-only --enforce off
run enforcing --cgroup "$CG" --bpf-pin-dir "$PIN" --netns "$NS"
