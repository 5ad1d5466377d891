#!/bin/sh
# tests/bench/syscalls.sh KEEPALIVE PID HOST PORT CONNS REQUESTS PATH [BASIC] —
# system calls the daemon PID makes per keep-alive TLS request: KEEPALIVE
# (tests/bench/keepalive.c) opens CONNS connections and warms them up, then
# `strace -c -f -p PID` counts exactly the CONNS x REQUESTS requests that follow
# (not the handshakes, not the closes). Prints one line:
#   per_request=N.N total=N requests=N  NAME=N.N ... (the calls above 0.05 each)
# Bounded: gives up after 120 s.
set -u
ka=$1 pid=$2 host=$3 port=$4 conns=$5 nreq=$6 path=$7 basic=${8:-}
command -v strace >/dev/null 2>&1 || { echo "per_request=n/a (strace is not installed)"; exit 0; }
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-sysc.XXXXXX") || exit 1
spid=
kpid=
cleanup() {
	[ -n "$spid" ] && kill -INT "$spid" 2>/dev/null
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null
	exec 3>&- 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
mkfifo "$T/in" || exit 1
if [ -n "$basic" ]; then
	"$ka" "$host" "$port" "$conns" "$nreq" "$path" "$basic" <"$T/in" >"$T/out" 2>"$T/err" &
else
	"$ka" "$host" "$port" "$conns" "$nreq" "$path" <"$T/in" >"$T/out" 2>"$T/err" &
fi
kpid=$!
exec 3>"$T/in"
wait_for() { # wait_for WORD: until the client printed WORD (120 s at most)
	n=0
	until grep -q "^$1" "$T/out" 2>/dev/null; do
		kill -0 "$kpid" 2>/dev/null || { echo "per_request=n/a (client failed: $(tail -n 1 "$T/err"))"; exit 0; }
		n=$((n + 1))
		[ $n -lt 1200 ] || { echo "per_request=n/a (timeout)"; exit 0; }
		sleep 0.1
	done
}
wait_for ready
strace -c -f -q -p "$pid" -o "$T/strace" 2>"$T/strace.err" &
spid=$!
sleep 1 # strace attaches to every thread
echo go >&3
wait_for done
kill -INT "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
spid=
echo bye >&3
wait "$kpid" 2>/dev/null
kpid=
reqs=$(sed -n 's/^done //p' "$T/out")
# strace -c: "% time seconds usecs/call calls [errors] syscall": calls is the
# 4th field, the name the last (the errors column is empty when there are none).
awk -v n="$reqs" '
	/^-/ || /% time/ || /^$/ { next }
	{ name = $NF; calls = $4 }
	name == "total" { total = calls; next }
	{ c[name] = calls }
	END {
		if (n + 0 == 0) { print "per_request=n/a (no requests)"; exit }
		line = sprintf("per_request=%.2f total=%d requests=%d ", total / n, total, n)
		for (k in c) if (c[k] / n >= 0.05) line = line sprintf(" %s=%.2f", k, c[k] / n)
		print line
	}' "$T/strace"
