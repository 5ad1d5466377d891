#!/bin/sh
# tests/security/timing.test.sh BUILD — username enumeration by time. Three kinds
# of failed sign-in, interleaved so that load from anything else on the machine
# falls on all of them alike, N (30) of each:
#   known    an existing user with a wrong password (one Argon2id verification)
#   unknown  a name that does not exist (must cost the same: a dummy hash)
#   base     the same form with a wrong CSRF token (refused before any hashing)
# The server time of each POST is curl's time_starttransfer - time_pretransfer
# (TLS handshake excluded). cost = median(known) - median(base) is what one
# password check costs. A server that skipped the hash for unknown names would
# answer them about `cost` faster, so we require
#   |median(known) - median(unknown)| < cost / 2
# (half the signal we are looking for), and a Mann-Whitney rank test of known
# against unknown with |z| < 3.29 (two-sided p > 0.001: 30 pairs leave room
# for machine noise but not for a whole hash). run.sh sets small Argon2
# parameters and throttling out of the way, so the failures can repeat.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/integration/lib.sh"

for v in AUTHD_ISSUER AUTHD_CA AUTHD_RP AUTHD_RP_REDIRECT AUTHD_USER2; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "Bail out! $v is not set (run via run.sh)"; exit 1; }
done
T=${AUTHD_WORK:-$(mktemp -d)}
I=$AUTHD_ISSUER C=$AUTHD_RP R=$AUTHD_RP_REDIRECT
N=${AUTHD_TIMING_N:-30}

# one KIND: a fresh login transaction, then the failing POST; appends
# "KIND STATUS SECONDS" to $T/samples.
one() {
	: >"$T/jar.$1"
	authorize tm "$T/jar.$1" "$C" "$R"
	login_page tm "$T/jar.$1"
	case $1 in
	known) user=$AUTHD_USER2 csrf=$(hidden_field tm.page csrf) ;;
	unknown) user="nobody-$(rand_token)" csrf=$(hidden_field tm.page csrf) ;;
	base) user=$AUTHD_USER2 csrf=$(rand_token)$(rand_token) ;;
	esac
	curl -sS --max-time 20 --cacert "$AUTHD_CA" -o /dev/null -b "$T/jar.$1" \
		-H "Origin: $I" --data-urlencode "tx=$(hidden_field tm.page tx)" \
		--data-urlencode "csrf=$csrf" --data-urlencode "username=$user" \
		--data-urlencode "password=wrong-$(rand_token)" \
		-w "$1 %{http_code} %{time_starttransfer} %{time_pretransfer}\n" "$I/login" |
		awk '{ printf "%s %s %.6f\n", $1, $2, $3 - $4 }' >>"$T/samples"
}

: >"$T/samples"
one known   # warm-up, not counted: first use of the worker pool and caches
: >"$T/samples"
i=0
while [ $i -lt "$N" ]; do
	# rotate the order, so no kind always follows the same one
	case $((i % 3)) in
	0) one known; one unknown; one base ;;
	1) one unknown; one base; one known ;;
	2) one base; one known; one unknown ;;
	esac
	i=$((i + 1))
done

count_of() { awk -v k="$1" -v s="$2" '$1 == k && $2 == s' "$T/samples" | wc -l; }
eq_n() { [ "$1" -eq "$2" ] || { diag "expected $2, got $1"; return 1; }; }
ok "timing: $N wrong passwords for a known user -> 401 each" eq_n "$(count_of known 401)" "$N"
ok "timing: $N unknown users -> 401 each" eq_n "$(count_of unknown 401)" "$N"
ok "timing: $N wrong CSRF tokens -> 403 each" eq_n "$(count_of base 403)" "$N"

node -e '
	const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
	const by = { known: [], unknown: [], base: [] };
	for (const l of lines) { const [k, , t] = l.split(" "); by[k].push(Number(t) * 1000); }
	const med = (a) => { const s = [...a].sort((x, y) => x - y), m = s.length >> 1;
		return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
	// Mann-Whitney U with midranks for ties, normal approximation.
	const a = by.known, b = by.unknown, all = [];
	a.forEach((v) => all.push([v, 0])); b.forEach((v) => all.push([v, 1]));
	all.sort((x, y) => x[0] - y[0]);
	const rank = new Array(all.length);
	for (let i = 0; i < all.length;) {
		let j = i; while (j < all.length && all[j][0] === all[i][0]) j++;
		for (let k = i; k < j; k++) rank[k] = (i + j + 1) / 2;
		i = j;
	}
	let r1 = 0; all.forEach((x, i) => { if (x[1] === 0) r1 += rank[i]; });
	const n1 = a.length, n2 = b.length, u = r1 - n1 * (n1 + 1) / 2;
	const z = (u - n1 * n2 / 2) / Math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12);
	const mk = med(a), mu = med(b), mb = med(by.base);
	console.log([mk, mu, mb, mk - mb, Math.abs(mk - mu), z].map((x) => x.toFixed(3)).join(" "));
' "$T/samples" >"$T/stats"
read -r mk mu mb cost diff z <"$T/stats"
diag "medians (ms): known $mk, unknown $mu, refused before hashing $mb; password check costs $cost ms"
diag "|known - unknown| = $diff ms; Mann-Whitney z = $z"
ok "timing: a password check costs measurably more than a refusal (cost > 1 ms)" \
	awk -v c="$cost" 'BEGIN { exit !(c > 1) }'
ok "timing: |median(known) - median(unknown)| < cost / 2" \
	awk -v d="$diff" -v c="$cost" 'BEGIN { exit !(d < c / 2) }'
ok "timing: rank test does not tell known from unknown (|z| < 3.29)" \
	awk -v z="$z" 'BEGIN { exit !(z < 3.29 && z > -3.29) }'

tap_end
