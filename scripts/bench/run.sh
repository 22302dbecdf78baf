#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: the registry through the control API next to Redis alone, in one run, on
# one private portgated + redis-server. Prints a markdown block for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
N=${BENCH_ALLOCS:-40000}
CLIENTS=${BENCH_CLIENTS:-32}
T=$(mktemp -d /tmp/portgate-bench.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

: >"$T/portgate.conf"
PORTGATE_CONFIG=$T/portgate.conf "$BUILD/portgated" --state-dir "$T/state" --socket "$T/pg.sock" \
	--host bench --metrics off --enforce off >"$T/log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -s --unix-socket "$T/pg.sock" http://localhost/v1/health | grep -q '"registry":true' && break; sleep 0.05; done
RSOCK=$T/state/redis/redis.sock
"$BUILD/portgate" --socket "$T/pg.sock" service create bench >/dev/null

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
RPID=$(cat "$T/state/redis/redis.pid")
d0=$(cpu "$PID"); r0=$(cpu "$RPID")
api=$("$BUILD/tools/pg_storm" "$T/pg.sock" bench exposed "$CLIENTS" "$N" "$T/acked" 120)
d1=$(cpu "$PID"); r1=$(cpu "$RPID")
rate=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<<"$api")
p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$api")
p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$api")
sha=$(redis-cli -s "$RSOCK" SCRIPT LOAD "return 1")
rb=$(redis-benchmark -s "$RSOCK" -c "$CLIENTS" -n 200000 --csv evalsha "$sha" 0 2>/dev/null | tail -1)
rrate=$(cut -d, -f2 <<<"$rb" | tr -d '"')
rp50=$(cut -d, -f5 <<<"$rb" | tr -d '"')
rp99=$(cut -d, -f7 <<<"$rb" | tr -d '"')
ratio=$(awk -v a="$rate" -v b="$rrate" 'BEGIN { printf "%.3f", a / b }')
tick=$(getconf CLK_TCK)
cat <<EOT
### Registry allocations through the control API ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r))

Command: \`make bench\` (scripts/bench/run.sh; $CLIENTS clients, $N purpose allocations, keep-alive, registry only)

| | ops/s | p50 | p99 |
|---|---|---|---|
| portgated POST /v1/services/S/ports (purpose \`exposed\`) | $rate | ${p50} µs | ${p99} µs |
| redis-benchmark EVALSHA \`return 1\`, same Redis, same run | ${rrate%.*} | ${rp50} ms | ${rp99} ms |
| ratio API / bare EVALSHA | $ratio | | |

CPU per allocation: portgated $(awk -v t=$((d1 - d0)) -v n="$N" -v k="$tick" 'BEGIN { printf "%.1f", t / k / n * 1e6 }') µs, redis-server $(awk -v t=$((r1 - r0)) -v n="$N" -v k="$tick" 'BEGIN { printf "%.1f", t / k / n * 1e6 }') µs (from /proc/PID/stat).
EOT
kill "$PID"; wait "$PID" 2>/dev/null; PID=

echo
bash scripts/bench/enforce.sh
echo
echo "### bind() with the cgroup hook vs without (\`build/tools/bind_bench --markdown\`)"
echo
"$BUILD/tools/bind_bench" --markdown || echo "(bind_bench skipped: exit $?)"
if [ -x "$BUILD/tools/nft_bench" ]; then
	echo
	echo "### 100,000 set elements in one transaction: libnftnl vs \`nft -f\` (\`build/tools/nft_bench\`)"
	echo
	"$BUILD/tools/nft_bench" || echo "(nft_bench skipped: exit $?)"
fi
echo
bash scripts/bench/audit.sh
echo
bash scripts/bench/proxy.sh
# The same comparison once more under the kernel's and Debian's default congestion control
# when the host runs another (BBR here): BBR paces every sender, and a proxy doubles the
# senders of a loopback chain (docs/benchmarks.md).
if [ "$(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null)" != cubic ]; then
	echo
	BENCH_PROXY_CC=cubic bash scripts/bench/proxy.sh
fi
