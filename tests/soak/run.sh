#!/bin/sh
# tests/soak/run.sh BUILD [SECONDS] — bounded soak (default 600 s, at least 30).
# 1. Measures the maximum: wrk (mix.lua: client_credentials, discovery, JWKS,
#    /healthz over TLS keep-alive) for 10 s, and browser logins (tests/bench/
#    load.mjs: authorize -> login form -> code, Argon2id per login) for 10 s.
# 2. Runs both for SECONDS at 70% of those maxima: wrk paced with delay(), and
#    logins in 10-second rounds of 70% of the maximal count.
# 3. Requires: no error response and no socket error from wrk, no failed login,
#    and anonymous RSS (heap; the LMDB map is file-backed and excluded) at the end
#    at most 25% + 16 MiB above the sample taken after the first fifth of the run.
#    Prints achieved rates and p50/p99/max latency.
set -u
seconds=${2:-${SOAK_SECONDS:-600}}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
cd "$root" || exit 1
[ "$seconds" -ge 30 ] && [ "$seconds" -le 86400 ] || { echo "SECONDS must be 30..86400"; exit 2; }
for c in wrk node curl openssl; do
	command -v $c >/dev/null || { echo "Bail out! $c is missing (make deps-test)"; exit 1; }
done
. "$here/instance.sh"
wrk_pid=
sampler_pid=
soak_cleanup() {
	for p in $wrk_pid $sampler_pid; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	instance_cleanup
}
trap soak_cleanup EXIT
instance_setup soak || exit 1
instance_start || { instance_fail "authd would not start"; exit 1; }
echo "$INST_USER $INST_PASSWORD" >"$T/users"
export SOAK_BASIC=$(printf '%s:%s' "$INST_CLIENT" "$INST_SECRET" | openssl base64 -A)
conns=32
n=0 pass=0 fail=0
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; pass=$((pass + 1))
	else echo "not ok $n - $2"; fail=$((fail + 1)); fi
}
field() { sed -n "s/^SOAK .*$1=\([0-9.]*\).*/\1/p" "$2"; }
logins() { # logins SECONDS MAX: one JSON line
	node "$root/tests/bench/load.mjs" logins "$AUTHD_ISSUER" "$INST_CLIENT" "$INST_REDIRECT" \
		"$T/users" 2 "$1" "$2"
}

# ---- 1. the maxima ---------------------------------------------------------
SOAK_DELAY_MS=0 wrk -t2 -c$conns -d10s --timeout 5s -s "$here/mix.lua" "$AUTHD_ISSUER/" \
	>"$T/max.wrk" 2>&1 || { instance_fail "wrk failed: $(tail -n 2 "$T/max.wrk")"; exit 1; }
max_rps=$(field rps "$T/max.wrk")
lmax=$(logins 10 100000 | sed -n 's/.*"rate":\([0-9.]*\).*/\1/p')
echo "# maximum: ${max_rps} req/s (wrk mix, $conns connections), ${lmax} logins/s"
[ -n "$max_rps" ] && [ -n "$lmax" ] || { instance_fail "no maximum measured"; exit 1; }
# wrk paces with delay() in whole milliseconds, so the soak uses more
# connections (128) and one 5-second calibration: each connection's cycle is
# delay + latency, and rate = sconns * 1000 / cycle.
sconns=128
target=$(awk -v r="$max_rps" 'BEGIN { printf "%.1f", 0.7 * r }')
delay=$(awk -v c=$sconns -v t="$target" 'BEGIN { printf "%d", c * 1000 / t }')
SOAK_DELAY_MS=$delay wrk -t2 -c$sconns -d5s --timeout 5s -s "$here/mix.lua" "$AUTHD_ISSUER/" \
	>"$T/cal.wrk" 2>&1 || { instance_fail "wrk failed: $(tail -n 2 "$T/cal.wrk")"; exit 1; }
delay=$(awk -v c=$sconns -v t="$target" -v d="$delay" -v r="$(field rps "$T/cal.wrk")" \
	'BEGIN { lat = c * 1000 / r - d; if (lat < 0) lat = 0; x = c * 1000 / t - lat;
		printf "%d", x < 1 ? 1 : x + 0.5 }')
echo "# target ${target} req/s: $sconns connections, ${delay} ms between requests on each"
per_round=$(awk -v r="$lmax" 'BEGIN { n = int(0.7 * r * 10); print n < 1 ? 1 : n }')

# ---- 2. the soak -------------------------------------------------------------
pid=$authd_pid
(
	i=0
	while [ $i -lt $((seconds / 5 + 2)) ] && kill -0 "$pid" 2>/dev/null; do
		awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" >>"$T/rss"
		sleep 5
		i=$((i + 1))
	done
) &
sampler_pid=$!
SOAK_DELAY_MS=$delay wrk -t2 -c$sconns -d"${seconds}s" --timeout 5s -s "$here/mix.lua" \
	"$AUTHD_ISSUER/" >"$T/soak.wrk" 2>&1 &
wrk_pid=$!
start=$(date +%s)
lok=0 lfail=0
while [ $(($(date +%s) - start)) -le $((seconds - 10)) ]; do
	r=$(logins 10 "$per_round")
	lok=$((lok + $(echo "$r" | sed -n 's/.*"logins":\([0-9]*\).*/\1/p')))
	lfail=$((lfail + $(echo "$r" | sed -n 's/.*"failures":\([0-9]*\).*/\1/p')))
	# The rest of the 10-second round is idle: 70% on average.
	while [ $(($(date +%s) - start)) -lt $(( ( ($(date +%s) - start) / 10 + 1) * 10 )) ]; do
		sleep 0.5
		[ $(( ($(date +%s) - start) % 10 )) -eq 0 ] && break
	done
done
wait "$wrk_pid"
wrk_pid=
kill -TERM "$sampler_pid" 2>/dev/null
wait "$sampler_pid" 2>/dev/null
sampler_pid=

# ---- 3. the checks -------------------------------------------------------------
sed -n 's/^SOAK /# soak: /p' "$T/soak.wrk"
echo "# soak: $lok logins at ~70% of ${lmax}/s ($per_round per 10 s), $lfail failed"
bad=0
for k in bad_status connect read write timeout; do
	v=$(field $k "$T/soak.wrk")
	[ "${v:-1}" = 0 ] || bad=1
done
check $bad "no error response or socket error in $(field requests "$T/soak.wrk") requests at 70% of ${max_rps}/s (p99 $(field p99_ms "$T/soak.wrk") ms)"
[ "$lfail" -eq 0 ] && [ "$lok" -gt 0 ]
check $? "$lok logins, none failed"
nrss=$(wc -l <"$T/rss")
base=$(sed -n "$((nrss / 5 + 1))p" "$T/rss")
last=$(tail -n 1 "$T/rss")
peak=$(sort -n "$T/rss" | tail -n 1)
limit=$((base * 125 / 100 + 16384))
echo "# anonymous RSS (KiB): after warm-up $base, end $last, peak $peak; bound $limit (+25% + 16 MiB)"
[ -n "$base" ] && [ "$last" -le "$limit" ]
check $? "RSS growth bounded (end $last KiB <= $limit KiB)"
instance_stop
check $? "authd stops cleanly after the soak"
echo "soak: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
