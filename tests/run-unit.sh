#!/bin/sh
# Runs every cmocka unit-test binary in BUILD/tests/ and appends a tally line
# "unit(BUILD): N passed, N failed" (suites) to tests/.results for run-all.sh.
set -u
build=${1:-build}
pass=0; fail=0
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "== $(basename "$t") ($build)"
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t"; fi
done
echo "unit suites ($build): $pass passed, $fail failed"
mkdir -p "$build"
echo "$pass $fail" > "$build/unit.result"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
