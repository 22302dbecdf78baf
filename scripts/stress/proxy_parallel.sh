#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Parallel bulk transfers through one portgate-proxy, every byte checked: WORKERS clients, each
# ROUNDS times a 10 MiB POST to pg_echo's /sha256 and a 10 MiB GET of /bytes/N, compared with
# what was sent / pg_echo --gen. Finds rare stream errors that one transfer at a time does not
# (it found the verdict-only sockmap redirect repeating overlapping bytes: a wrong
# download in about one run of nine, docs/proxy-protocol.md). Loopback only.
# Usage: scripts/stress/proxy_parallel.sh [portgate-proxy options...]   e.g. --sockmap-after 1048576
# Env: BUILD (build), WORKERS (6), ROUNDS (40), PORT (a free one is picked). Exit 1 on any error.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
WORKERS=${WORKERS:-6}
ROUNDS=${ROUNDS:-40}
T=$(mktemp -d /tmp/portgate-stress.XXXXXX)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
free_port() { local p; for _ in $(seq 200); do p=$((20000 + RANDOM % 12000)); ss -Htan "( sport = :$p )" | grep -q . || { echo "$p"; return; }; done; }
BP=$(free_port)
P=${PORT:-$(free_port)}
TOK=stress-token
"$B/tools/pg_echo" --port "$BP" >"$T/echo.log" 2>&1 &
PIDS+=($!)
"$B/portgate-proxy" --route "127.0.0.1:$P=$BP" --token-hash "sha256:$(printf %s $TOK | sha256sum | cut -c1-64)" \
	--threads 2 --fail-limit 1000 --events /dev/null -v "$@" 2>"$T/proxy.log" &
PIDS+=($!)
for _ in $(seq 100); do ss -Htln "( sport = :$P )" | grep -q . && break; sleep 0.05; done
ss -Htln "( sport = :$P )" | grep -q . || { echo "portgate-proxy did not start: $(tail -2 "$T/proxy.log")"; exit 1; }
head -c 10485760 /dev/urandom >"$T/up.bin"
up=$(sha256sum <"$T/up.bin" | cut -c1-64)
"$B/tools/pg_echo" --gen 10485760 >"$T/expect.bin"
down=$(sha256sum <"$T/expect.bin" | cut -c1-64)
worker() {
	local w=$1 i got
	for i in $(seq "$ROUNDS"); do
		got=$(curl -s -m 30 -H "X-Source-Token: $TOK" -H 'Expect:' --data-binary @"$T/up.bin" "http://127.0.0.1:$P/sha256")
		[ "$got" = "$up" ] || echo "worker $w, round $i: POST: the backend saw '$got'"
		curl -s -m 30 -H "X-Source-Token: $TOK" "http://127.0.0.1:$P/bytes/10485760" -o "$T/dl.$w"
		got=$(sha256sum <"$T/dl.$w" | cut -c1-64)
		[ "$got" = "$down" ] || echo "worker $w, round $i: GET: $(stat -c %s "$T/dl.$w") bytes, $(cmp "$T/dl.$w" "$T/expect.bin" 2>&1 | head -1)"
	done
}
start=$(date +%s)
for w in $(seq "$WORKERS"); do worker "$w" >"$T/w.$w" & done
wait $(jobs -p | grep -v -x -e "${PIDS[0]}" -e "${PIDS[1]}") 2>/dev/null
errors=$(cat "$T"/w.* | wc -l)
cat "$T"/w.*
echo "$((WORKERS * ROUNDS * 2)) transfers of 10 MiB in $(($(date +%s) - start)) s ($*): $errors wrong"
[ "$errors" = 0 ]
