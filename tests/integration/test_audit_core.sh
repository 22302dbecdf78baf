#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The audit trail's core, registry only: the JSON-lines file under the state directory (start
# event, control events, SIGHUP reopen without losing a line, size cap rotation to .1) and the
# Redis stream pg:{HOST}:audit holding the same events.
. "$(dirname "$0")/lib.sh"

AUDIT=$T/state/audit.jsonl
STREAM="pg:{$HOSTNAME_PG}:audit"

# wait_for COMMAND...: retries for up to ~5 s.
wait_for() {
	for _ in $(seq 100); do "$@" && return 0; sleep 0.05; done
	return 1
}
lines() { cat "$@" 2>/dev/null | wc -l; }
# The JSON of every stream entry, oldest first (redis-cli prints id, field, value).
stream_json() { rcli XRANGE "$STREAM" - + | awk 'NR % 3 == 0'; }
# Every line of the files is one JSON object: prints the number that are not.
bad_json() { cat "$@" | while IFS= read -r l; do jq -e 'type == "object"' <<<"$l" >/dev/null 2>&1 || echo bad; done | wc -l; }

start_daemon || { not_ok "portgated starts"; exit 1; }
ok "portgated starts"

# 1. The file appears with the start event.
if wait_for grep -q '"reason":"portgated started"' "$AUDIT"; then
	ok "audit.jsonl appears in the state directory with the start event"
else
	not_ok "start event in $AUDIT ($(cat "$AUDIT" 2>&1 | head -3))"
fi
mode=$(stat -c %a "$AUDIT" 2>/dev/null)
[ "$mode" = 640 ] && ok "audit.jsonl is mode 0640" || not_ok "audit.jsonl mode ($mode)"
jq -e --arg h "$HOSTNAME_PG" 'select(.reason == "portgated started") |
	.host == $h and .action == "control" and .result == "allowed" and
	(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$"))' \
	"$AUDIT" >/dev/null && ok "the start event has host, action, result and an RFC 3339 time in µs" ||
	not_ok "start event fields ($(head -1 "$AUDIT"))"

# 2. A port-add shows up (once the control API records its mutations).
pg service create audit-a >/dev/null
pg service port-add audit-a 18471 >/dev/null
if wait_for grep -q '"what":"port-add audit-a' "$AUDIT"; then
	jq -e 'select(.what // "" | startswith("port-add audit-a")) |
		.action == "control" and .result == "allowed" and .service == "audit-a" and
		.dst_port == 18471 and .protocol == "tcp" and .who == "uid:0"' "$AUDIT" >/dev/null &&
		ok "a port-add appears with service, port, protocol and who" ||
		not_ok "port-add event fields ($(grep port-add "$AUDIT"))"
else
	not_ok "the port-add is in the audit file"; exit 1
fi

# 3. The stream holds the same events as the file, in the same order.
if wait_for bash -c "[ \"\$(redis-cli -s '$(redis_sock)' XLEN '$STREAM')\" -eq \$(wc -l <'$AUDIT') ]"; then
	if diff <(stream_json) "$AUDIT" >"$T/diff.out"; then
		ok "the stream $STREAM holds the file's $(lines "$AUDIT") events"
	else
		not_ok "stream and file differ"; head -10 "$T/diff.out" | sed 's/^/#   /'
	fi
else
	not_ok "stream length $(rcli XLEN "$STREAM") != file lines $(lines "$AUDIT")"
fi

# 4. SIGHUP while events are being produced: the file moved away plus the new one hold every
# event exactly once.
N=300
(
	made=0
	for i in $(seq "$N"); do
		code=$(api -o /dev/null -w '%{http_code}' http://localhost/v1/services -d "{\"service_name\":\"rot-$i\"}")
		[ "$code" != 000 ] && made=$((made + 1))
		code=$(api -o /dev/null -w '%{http_code}' -X DELETE http://localhost/v1/services/rot-$i)
		[ "$code" != 000 ] && made=$((made + 1))
	done
	echo "$made" >"$T/made"
) &
LOOP=$!
wait_for bash -c "[ \$(grep -c '\"what\":\"service-[a-z]* rot-' '$AUDIT') -ge 40 ]"
mv "$AUDIT" "$AUDIT.rotated"
kill -HUP "$DAEMON_PID"
wait "$LOOP"
made=$(cat "$T/made")
pg service create audit-after >/dev/null # certainly after the reopen
wait_for grep -q 'service-create audit-after' "$AUDIT"
old=$(grep -c '"what":"service-[a-z]* rot-' "$AUDIT.rotated")
new=$(grep -c '"what":"service-[a-z]* rot-' "$AUDIT")
note "events produced: $made; in the moved file: $old; in the new file: $new"
[ "$made" -eq $((2 * N)) ] && [ $((old + new)) -eq "$made" ] &&
	ok "SIGHUP reopen loses no line ($old + $new = $made)" ||
	not_ok "SIGHUP reopen: $old + $new != $made"
dups=$(cat "$AUDIT.rotated" "$AUDIT" | grep '"what":"service-[a-z]* rot-' | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] && ok "and writes none twice" || not_ok "$dups lines written twice"
grep -q 'service-create audit-after' "$AUDIT" && ! grep -q 'audit-after' "$AUDIT.rotated" &&
	ok "events after SIGHUP go to the new file" || not_ok "events after SIGHUP go to the new file"
[ "$(bad_json "$AUDIT.rotated" "$AUDIT")" -eq 0 ] && ok "every line is one JSON object" ||
	not_ok "$(bad_json "$AUDIT.rotated" "$AUDIT") lines are not JSON objects"
want=$(($(lines "$AUDIT.rotated") + $(lines "$AUDIT")))
if wait_for bash -c "[ \"\$(redis-cli -s '$(redis_sock)' XLEN '$STREAM')\" -eq $want ]"; then
	diff <(stream_json) <(cat "$AUDIT.rotated" "$AUDIT") >"$T/diff.out" &&
		ok "the stream holds the same $want events" ||
		{ not_ok "stream and files differ"; head -6 "$T/diff.out" | sed 's/^/#   /'; }
else
	not_ok "stream length $(rcli XLEN "$STREAM") != $want lines"
fi

# 5. The size cap: past audit_max_bytes the file becomes audit.jsonl.1 (replacing the older one).
stop_daemon
rm -f "$AUDIT" "$AUDIT.rotated"
start_daemon --audit-max-bytes 4096 || { not_ok "portgated restarts with --audit-max-bytes 4096"; exit 1; }
for i in $(seq 40); do
	api -o /dev/null http://localhost/v1/services -d "{\"service_name\":\"cap-$i\"}"
done
wait_for grep -q 'service-create cap-40"' "$AUDIT" "$AUDIT.1"
size1=$(stat -c %s "$AUDIT.1" 2>/dev/null || echo 0)
size=$(stat -c %s "$AUDIT" 2>/dev/null || echo 0)
note "audit.jsonl.1: $size1 bytes, audit.jsonl: $size bytes"
[ "$size1" -ge 4096 ] && ok "past 4096 bytes the file is rotated to audit.jsonl.1" ||
	not_ok "no rotation to .1 ($(ls -l "$T/state" | sed 's/^/# /'))"
[ ! -e "$AUDIT.2" ] && ok "only one old file is kept" || not_ok "a .2 file appeared"
last=$(cat "$AUDIT.1" "$AUDIT" | grep -o 'service-create cap-[0-9]*' | tail -1)
[ "$last" = "service-create cap-40" ] && ok "the newest event is the last line" ||
	not_ok "last event is '$last'"
[ "$(bad_json "$AUDIT.1" "$AUDIT")" -eq 0 ] && ok "rotated files hold whole JSON lines" ||
	not_ok "rotated files hold broken lines"

# 6. audit_file off: no file, the stream still gets the events.
wait_for bash -c "[ \"\$(redis-cli -s '$(redis_sock)' XLEN '$STREAM')\" -gt 0 ]"
before=$(rcli XLEN "$STREAM")
stop_daemon
rm -f "$AUDIT" "$AUDIT.1"
start_daemon --audit-file off || { not_ok "portgated starts with --audit-file off"; exit 1; }
wait_for bash -c "[ \"\$(redis-cli -s '$(redis_sock)' XLEN '$STREAM')\" -gt $before ]" &&
	ok "--audit-file off: the start event still reaches the stream" || not_ok "no start event in the stream"
[ ! -e "$AUDIT" ] && ok "--audit-file off writes no file" || not_ok "--audit-file off wrote $AUDIT"

exit $((n_fail > 0))
