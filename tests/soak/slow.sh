#!/bin/sh
# tests/soak/slow.sh BUILD — connection limits and timeouts: a daemon with
# max_connections = 64 and read_timeout_s = 3 is flooded with 164 idle TLS
# connections and 20 slowloris clients (slow.mjs); normal clients must still be
# served within a bound, and the server must close the idle and dripping
# connections on time. Fast (~15 s): part of `make test`.
# Prints TAP lines and "slow clients: N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
cd "$root" || exit 1
. "$here/instance.sh"
cap=64
rt=3
instance_setup "slow" "max_connections = $cap" "read_timeout_s = $rt" || exit 1
instance_start || { instance_fail "authd would not start"; exit 1; }
SLOW_CAP=$cap SLOW_RT=$rt node "$here/slow.mjs" >"$T/slow.out" 2>&1
rc=$?
cat "$T/slow.out"
instance_stop
p=$(grep -c '^ok ' "$T/slow.out")
f=$(grep -c '^not ok ' "$T/slow.out")
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "slow clients: $p passed, $f failed"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
