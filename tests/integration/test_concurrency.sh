#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 32 concurrent clients make 4,000 allocations: no duplicate, bitmaps equal to the hashes.
# Then the same under SIGKILL of portgated and of redis-server: nothing acknowledged lost,
# nothing half-written.
. "$(dirname "$0")/lib.sh"

start_daemon || { not_ok "portgated starts"; exit 1; }
pg service create storm >/dev/null
out=$("$TOOLS/pg_storm" "$SOCK" storm exposed 32 4000 "$T/acked1" 60)
note "storm: $out"
[ "$(wc -l <"$T/acked1")" -eq 4000 ] && ok "32 clients: 4000 allocations acknowledged" || not_ok "4000 acknowledged ($out)"
dups=$(awk '{print $1, $2}' "$T/acked1" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] && ok "no port given twice" || not_ok "$dups ports given twice"
[ "$(registry_mismatches)" = 0 ] && ok "bitmaps equal the hashes" || not_ok "bitmaps vs hashes: $(registry_mismatches) mismatches"
count=$(pg --json service port-list storm | grep -o '"host_port"' | wc -l)
[ "$count" -eq 4000 ] && ok "the service lists 4000 ports" || not_ok "service lists $count ports"

# Crash both processes while a second, longer storm runs.
pg service create crash >/dev/null
TOTAL2=30000
"$TOOLS/pg_storm" "$SOCK" crash exposed 32 $TOTAL2 "$T/acked2" 90 >"$T/storm2.out" &
STORM=$!
wait_acks() { for _ in $(seq 400); do [ "$(wc -l <"$T/acked2")" -ge "$1" ] && return; sleep 0.01; done; }
wait_acks 3000
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
k1=$(wc -l <"$T/acked2")
note "SIGKILL portgated after $k1 of $TOTAL2 acks"
start_daemon || not_ok "portgated restarts after SIGKILL"
wait_acks $((k1 + 3000))
rpid=$(cat "$T/state/redis/redis.pid")
kill -9 "$rpid"
k2=$(wc -l <"$T/acked2")
note "SIGKILL redis-server ($rpid) after $k2 of $TOTAL2 acks"
[ "$k1" -gt 0 ] && [ "$k2" -gt "$k1" ] && [ "$k2" -lt $TOTAL2 ] && ok "both kills landed mid-storm" || not_ok "kills mid-storm ($k1, $k2)"
wait "$STORM"; rc=$?
note "storm under crashes: $(cat "$T/storm2.out")"
[ $rc -eq 0 ] && ok "the storm finishes once both are back" || not_ok "storm under crashes (rc $rc)"
stop_daemon
start_daemon || not_ok "portgated restarts again"
cat "$T/acked1" "$T/acked2" | awk -v h="$HOSTNAME_PG" '{ print "HGET pg:{" h "}:port:" $1 ":" $2 " service_name" }' |
	rcli >"$T/owners"
lost=$(paste -d' ' <(cat "$T/acked1" "$T/acked2" | awk '{print $3}') "$T/owners" | awk '$1 != $2' | wc -l)
[ "$lost" -eq 0 ] && ok "nothing acknowledged lost ($(wc -l <"$T/owners") checked)" || not_ok "$lost acknowledged allocations lost"
dups=$(cat "$T/acked1" "$T/acked2" | awk '{print $1, $2}' | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] && ok "no port given twice across crashes" || not_ok "$dups ports given twice across crashes"
[ "$(registry_mismatches)" = 0 ] && ok "nothing half-written (bitmaps equal the hashes)" || not_ok "half-written: $(registry_mismatches) mismatches"
m=$(curl -s --unix-socket "$SOCK" http://localhost/v1/health)
grep -q '"registry": *true' <<<"$m" && ok "registry back after the redis-server kill" || not_ok "registry back ($m)"
[ "$n_fail" -eq 0 ]
