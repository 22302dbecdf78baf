#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A bounded libFuzzer run of every harness in tests/fuzz/ (ASan+UBSan), so CI fuzzes the
# parsers on each change. Longer runs: make fuzz FUZZ_TIME=600.
. "$(dirname "$0")/lib.sh"

command -v clang >/dev/null || { skip "clang not installed"; exit 0; }
for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
	n=$(basename "$f" .c)
	srcs=$(sed -n 's|^// fuzz-sources: ||p' "$f")
	libs=$(sed -n 's|^// fuzz-libs: ||p' "$f")
	if ! (cd "$ROOT" && clang -g -O1 -D_GNU_SOURCE -Iinclude -Iuserspace/lib -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined "$f" $srcs $libs -o "$T/$n") >"$T/$n.build" 2>&1; then
		not_ok "$n builds"; sed 's/^/#   /' "$T/$n.build" | head; continue
	fi
	mkdir -p "$T/corpus-$n"
	if "$T/$n" -max_total_time="${FUZZ_TIME:-20}" -max_len=20000 "$T/corpus-$n" "$ROOT/tests/fuzz/corpus/$n" >"$T/$n.log" 2>&1; then
		ok "$n: $(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$T/$n.log"), no crash"
	else
		not_ok "$n found a crash"; grep -E -A15 'ERROR|runtime error' "$T/$n.log" | head -30 | sed 's/^/#   /'
	fi
done
