#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every test: cmocka unit tests (build/tests/test_*), then the integration scripts
# (tests/integration/test_*.sh) against the real kernel, Redis and portgated. Ends with
# one line "N passed, N failed, N skipped" and exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
pass=0 fail=0 skip=0
failed=()
report="" # the failures again, at the end, where a truncated log still shows them

run_unit() {
	local t=$1 out p f s
	out=$("$t" 2>&1)
	local rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
	s=${s:-0}
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-40s %3d passed %3d failed %3d skipped\n' "$(basename "$t")" "$p" "$f" "$s"
	if [ "$f" -ne 0 ]; then
		failed+=("$(basename "$t")")
		local why
		why=$(grep -E 'FAILED|ERROR|error|Assert|Sanitizer' <<<"$out" | head -20 | sed 's/^/    /')
		echo "$why"
		report+="$(basename "$t"):"$'\n'"$why"$'\n'
	fi
}

run_integration() {
	local t=$1 out p f s
	out=$(timeout 600 bash "$t" 2>&1)
	local rc=$?
	p=$(grep -c '^ok ' <<<"$out")
	f=$(grep -c '^not ok ' <<<"$out")
	s=$(grep -c '^skip ' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-40s %3d passed %3d failed %3d skipped\n' "$(basename "$t")" "$p" "$f" "$s"
	grep -E '^(not ok|skip|#)' <<<"$out" | head -40 | sed 's/^/    /'
	if [ "$f" -ne 0 ]; then
		failed+=("$(basename "$t")")
		tail -30 <<<"$out" | sed 's/^/    | /'
		report+="$(basename "$t"):"$'\n'"$(grep -E '^not ok' <<<"$out" | head -10 | sed 's/^/    /')"$'\n'
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_unit "$t"
done
for t in tests/integration/test_*.sh; do
	[ -f "$t" ] && run_integration "$t"
done

if [ ${#failed[@]} -gt 0 ]; then
	printf '%s' "$report" | tail -40
	echo "failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
