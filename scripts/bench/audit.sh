#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The audit trail under a burst of denied binds (BPF on a bench-made cgroup, nftables in a
# bench-made netns): events per second from the ring buffer to the JSON-lines file and the Redis
# stream, the CPU that costs, and the time of a denied bind with auditing on vs off, in one run.
# Markdown on stdout.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
N=${BENCH_BINDS:-100000}
CGM=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
ID=$$-$RANDOM
CG=$CGM/portgate-bench-$ID PIN=/sys/fs/bpf/portgate-bench-$ID NS=pgb-$ID
T=$(mktemp -d /tmp/portgate-bench.XXXXXX)
PID=
stop() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=; }
cleanup() { stop; rm -rf "$PIN" "$T"; rmdir "$CG" 2>/dev/null; ip netns del "$NS" 2>/dev/null; }
trap cleanup EXIT
mkdir "$CG" && ip netns add "$NS" || { echo "audit bench skipped: cannot make a cgroup/netns"; exit 0; }

cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
now_ns() { date +%s%N; }

# start LABEL ARGS...: a daemon enforcing on the bench's cgroup, one localhost-only port.
start() {
	local label=$1; shift
	rm -rf "$T/state"; : >"$T/portgate.conf"
	PORTGATE_CONFIG=$T/portgate.conf "$BUILD/portgated" --state-dir "$T/state" --socket "$T/pg.sock" \
		--host "bench-$label" --metrics off --proxy off --cgroup "$CG" --bpf-pin-dir "$PIN" \
		--netns "$NS" "$@" >"$T/log-$label" 2>&1 &
	PID=$!
	for _ in $(seq 200); do curl -s --unix-socket "$T/pg.sock" http://localhost/v1/health | grep -q '"registry":true' && break; sleep 0.05; done
	"$BUILD/portgate" --socket "$T/pg.sock" service create b >/dev/null
	PORT=$("$BUILD/portgate" --socket "$T/pg.sock" --json service port-add b internal_http 127.0.0.1 |
		sed -n 's/.*"host_port": *\([0-9]*\).*/\1/p' | head -1)
}

# storm: N denied binds from a process in the bench's cgroup; prints ns per bind.
storm() {
	local t0 t1
	t0=$(now_ns)
	sh -c "echo \$\$ >'$CG/cgroup.procs' && exec '$BUILD/tools/pg_bindstorm' $N $PORT" >"$T/storm" 2>&1
	t1=$(now_ns)
	STORM_END=$t1
	awk -v d=$((t1 - t0)) -v n="$N" 'BEGIN { printf "%.0f", d / n }'
}

# bind_events: the denied binds the file accounts for (the sum of count over bind events).
bind_events() {
	python3 - "$T/state/audit.jsonl" <<'EOF'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        e = json.loads(line)
        if e.get("action") == "bind" and e.get("result") == "denied":
            n += e.get("count", 1)
except FileNotFoundError:
    pass
print(n)
EOF
}

# drained: waits until the file accounts for all N binds (or 30 s); prints seconds after the storm.
drained() {
	for _ in $(seq 600); do
		[ "$(bind_events)" -ge "$N" ] && break
		sleep 0.05
	done
	awk -v d=$(($(now_ns) - STORM_END)) 'BEGIN { printf "%.2f", d / 1e9 }'
}

row() { # row LABEL ARGS...: one daemon, one storm
	local label=$1; shift
	start "$label" "$@"
	local d0 r0 d1 r1 ns lag lines xlen got rpid tick
	rpid=$(cat "$T/state/redis/redis.pid" 2>/dev/null || echo "$PID")
	tick=$(getconf CLK_TCK)
	d0=$(cpu "$PID"); r0=$(cpu "$rpid")
	ns=$(storm)
	if [ "$label" = off ]; then
		sleep 1
		lag=- got=0
	else
		lag=$(drained)
		got=$(bind_events)
	fi
	d1=$(cpu "$PID"); r1=$(cpu "$rpid")
	lines=$(wc -l <"$T/state/audit.jsonl" 2>/dev/null || echo 0)
	xlen=$(redis-cli -s "$T/state/redis/redis.sock" XLEN "pg:{bench-$label}:audit" 2>/dev/null || echo 0)
	stop
	echo "| $label | $ns ns | $got | $lines | $xlen | $lag s |" \
		"$(awk -v t=$((d1 - d0)) -v k="$tick" -v n="$N" 'BEGIN { printf "%.2f µs", t / k / n * 1e6 }') |" \
		"$(awk -v t=$((r1 - r0)) -v k="$tick" -v n="$N" 'BEGIN { printf "%.2f µs", t / k / n * 1e6 }') |"
}

echo "### The audit trail under $N denied binds ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r))"
echo
echo "Command: \`make bench\` (scripts/bench/audit.sh): \`pg_bindstorm $N PORT\` in a bench-made"
echo "cgroup binds 0.0.0.0 on a localhost-only port; every call is refused by the bind hook."
echo
echo "| auditing | time per denied bind | binds accounted for | file lines | stream entries | drained after the burst | portgated CPU per bind | redis CPU per bind |"
echo "|---|---|---|---|---|---|---|---|"
row off --audit-file off --audit-stream-maxlen 0
row every-event --audit-threshold 1000000 --audit-stream-maxlen 1000000
row aggregated
