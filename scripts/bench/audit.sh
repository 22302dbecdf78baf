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
BENCH_NAME=audit
. scripts/bench/kernel_env.sh # (the repository root is the working directory)

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
	echo "$t1" >"$T/storm_end"
	awk -v d=$((t1 - t0)) -v n="$N" 'BEGIN { printf "%.0f", d / n }'
}

# sum_count ACTION [REASON]: the events of ACTION (with REASON in their reason) the file
# accounts for (the sum of their counts).
sum_count() {
	# fromjson? skips the line being written; jq comes with scripts/deps.sh.
	jq -Rn --arg a "$1" --arg r "${2:-}" \
		'[inputs | fromjson? | select(.action == $a and ((.reason // "") | contains($r))) | .count // 1] | add // 0' \
		"$T/state/audit.jsonl" 2>/dev/null || echo 0
}
xlen() { redis-cli -s "$T/state/redis/redis.sock" XLEN "pg:{bench-$1}:audit" 2>/dev/null || echo 0; }
lines() { cat "$T/state/audit.jsonl" 2>/dev/null | wc -l; }

# drained LABEL: waits until the file accounts for every bind (ring-buffer losses included) and
# the file and the stream stopped growing (0.5 s), at most 60 s; prints the seconds from the end
# of the burst to their last change.
drained() {
	local last="" cur changed
	changed=$(now_ns)
	for _ in $(seq 1200); do
		cur="$(lines) $(xlen "$1")"
		if [ "$cur" != "$last" ]; then
			last=$cur changed=$(now_ns)
		elif [ $(($(now_ns) - changed)) -gt 500000000 ] &&
			[ $(($(sum_count bind) + $(sum_count loss "ring buffer"))) -ge "$N" ]; then
			break # aggregated events come when their window closes
		fi
		sleep 0.05
	done
	awk -v d=$((changed - $(cat "$T/storm_end"))) 'BEGIN { printf "%.2f", (d < 0 ? 0 : d) / 1e9 }'
}

row() { # row LABEL ARGS...: one daemon, one burst
	local label=$1; shift
	start "$label" "$@"
	local d0 r0 d1 r1 ns lag got=0 lost=0 rpid tick
	rpid=$(cat "$T/state/redis/redis.pid" 2>/dev/null || echo "$PID")
	tick=$(getconf CLK_TCK)
	d0=$(cpu "$PID"); r0=$(cpu "$rpid")
	ns=$(storm)
	if [ "$label" = off ]; then
		sleep 1
		lag=-
	else
		lag="$(drained "$label") s"
		got=$(sum_count bind)
		lost=$(sum_count loss "ring buffer")
	fi
	d1=$(cpu "$PID"); r1=$(cpu "$rpid")
	local rate=-
	[ "$label" = every-event ] && rate=$(awk -v g="$got" -v ns="$ns" -v n="$N" -v l="${lag% s}" \
		'BEGIN { printf "%.0f/s", g / (ns * n / 1e9 + l) }')
	echo "| $label | $ns ns | $got + $lost lost | $(lines) | $(xlen "$label") | $lag | $rate |" \
		"$(awk -v t=$((d1 - d0)) -v k="$tick" -v n="$N" 'BEGIN { printf "%.2f µs", t / k / n * 1e6 }') |" \
		"$(awk -v t=$((r1 - r0)) -v k="$tick" -v n="$N" 'BEGIN { printf "%.2f µs", t / k / n * 1e6 }') |"
	stop
}

echo "### The audit trail under $N denied binds ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r))"
echo
echo "Command: \`make bench\` (scripts/bench/audit.sh): \`pg_bindstorm $N PORT\` in a bench-made"
echo "cgroup binds 0.0.0.0 on a localhost-only port; every call is refused by the bind hook."
echo
echo "| auditing | time per denied bind | binds in the file + ring-buffer losses | file lines | stream entries | drained after the burst | bind events/s to the file | portgated CPU per bind | redis CPU per bind |"
echo "|---|---|---|---|---|---|---|---|---|"
row off --audit-file off --audit-stream-maxlen 0
row every-event --audit-threshold 1000000 --audit-stream-maxlen 1000000
row aggregated
