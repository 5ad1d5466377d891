#!/bin/sh
# tests/fuzz/run.sh MODE SECONDS NAME... — runs the libFuzzer targets built by
# `make fuzz` in build-fuzz/.
#   smoke:   each target for SECONDS from its committed seeds (corpus/NAME) plus
#            what earlier runs found (build-fuzz/corpus/NAME, where new inputs go),
#            with NAME.dict when present; prints the final stats line per target.
#   regress: replays every committed seed once (crash seeds stay in corpus/NAME
#            as regression tests).
# Crashes land in build-fuzz/artifacts/. Exit status: non-zero if any target failed.
set -u
mode=${1:?mode}
secs=${2:?seconds}
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
fb=build-fuzz
mkdir -p "$fb/artifacts"
fail=0
for name in "$@"; do
	bin=$fb/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	[ -x "$bin" ] || { echo "not ok - fuzz_$name: $bin missing (make fuzz)"; fail=1; continue; }
	mkdir -p "$seeds" "$fb/corpus/$name"
	dict=
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	log=$fb/fuzz_$name.log
	if [ "$mode" = regress ]; then
		"$bin" -runs=0 $dict "$seeds" >"$log" 2>&1
	else
		# rss_limit: the in-process daemon (fuzz_http) maps its store lazily;
		# 4 GiB stays far from the machine's memory while catching blow-ups.
		"$bin" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=4096 \
			-timeout=25 -artifact_prefix="$fb/artifacts/$name-" $dict \
			"$fb/corpus/$name" "$seeds" >"$log" 2>&1
	fi
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+.*(DONE|INITED)' "$log" | tail -n 1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
	if [ $rc -eq 0 ]; then
		echo "ok - fuzz_$name ($mode ${secs}s): ${execs:-?} execs, ${rate:-?}/s, ${cov:-cov ?}"
	else
		echo "not ok - fuzz_$name ($mode): exit $rc; see $log"
		grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -n 5 | sed 's/^/# /'
		fail=1
	fi
done
exit $fail
