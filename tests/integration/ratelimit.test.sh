#!/bin/sh
# tests/integration/ratelimit.test.sh BUILD — the per-client request rate at
# /token, /introspect and /revoke ([tokens] client_rate / client_burst), against
# an authd of its own (client_rate = 1, client_burst = 3, so a burst is a few
# curl requests), started on a free loopback port with a fresh store and dev
# certificate, and stopped on exit. A client over its rate gets 429 slow_down
# with Retry-After; it works again after waiting that long; another client is
# unaffected; failed client authentications spend nothing; the refusal is
# counted in /metrics and audited once, and the audit chain verifies. TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-rate.XXXXXX") || exit 1
. "$here/lib.sh"

cleanup() {
	stop_pid "$authd_pid"
	rm -rf "$T"
}
on_exit cleanup

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done

authd_dev_cert
write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<EOF2

[store]
path = data

[tokens]
client_rate = 1
client_burst = 3

[password]
argon2_memory_kib = 8192
argon2_ops = 1
breached_list = $root/share/common-passwords.txt

[log]
level = 2
EOF2
	} >"$T/authd.conf"
}
write_conf 1
authd_init
svc() { # svc ID: a client_credentials client; its secret in client_secret
	authd_client "$1" --redirect-uri "https://$1.city.example/cb" \
		--grant client_credentials --scope openid --auth-method client_secret_basic
}
svc svc-noisy
NOISY=$client_secret
svc svc-quiet
QUIET=$client_secret
authd_start write_conf || bail "$authd_err"
AUTHD_CA="$T/certs/ca.crt"

cc() { # cc NAME CLIENT SECRET: one client_credentials grant
	token "$1" "$2" "$3" -d grant_type=client_credentials
}

# ---- a burst beyond client_burst -----------------------------------------------
# 8 grants in quick succession: the burst (3) and what the time they take
# refills (1 a second) are served; the rest are refused.
i=1 granted=0 refused=0 first429=
while [ $i -le 8 ]; do
	cc "n$i" svc-noisy "$NOISY"
	case $(status_of "n$i") in
	200) granted=$((granted + 1)) ;;
	429) refused=$((refused + 1)); [ -n "$first429" ] || first429=n$i ;;
	esac
	i=$((i + 1))
done
# Introspection and revocation take from the same bucket: asked right after
# the burst (a second in between would refill one), tried until one is refused.
limited() { # limited NAME PATH: drain the bucket, then PATH; its status 429?
	i=0
	while [ $i -lt 3 ]; do
		j=0
		while [ $j -lt 6 ]; do
			cc drain svc-noisy "$NOISY"
			[ "$(status_of drain)" = 429 ] && break
			j=$((j + 1))
		done
		req "$1" -u "svc-noisy:$NOISY" -d token=x "$AUTHD_ISSUER$2"
		[ "$(status_of "$1")" = 429 ] && return 0
		i=$((i + 1))
	done
	return 1
}
limited intro /introspect
limited rev /revoke
cc q1 svc-quiet "$QUIET"
ok "the burst is served: the first three grants 200" \
	eq "$(status_of n1) $(status_of n2) $(status_of n3)" "200 200 200"
ok "  ... and grants beyond it are refused with 429 ($granted served, $refused refused)" \
	test "$refused" -ge 1 -a "$((granted + refused))" -eq 8
ra=$(header "$first429" retry-after)
ok "429 carries Retry-After in whole seconds, at least 1" \
	sh -c 'case "$1" in ""|*[!0-9]*) exit 1 ;; esac; [ "$1" -ge 1 ]' - "$ra"
ok "429 body is the OAuth error slow_down" eq "$(json "$first429" j.error)" slow_down
ok "  ... as JSON" eq "$(header "$first429" content-type | cut -d';' -f1)" application/json
ok "  ... with no token" eq "$(json "$first429" 'j.access_token === undefined')" true
ok "/introspect over the rate: 429 slow_down" \
	eq "$(status_of intro) $(json intro j.error)" "429 slow_down"
ok "/revoke over the rate: 429 with Retry-After" \
	sh -c '[ "$1" = 429 ] && [ -n "$2" ]' - "$(status_of rev)" "$(header rev retry-after)"

# ---- another client, and callers who did not authenticate -----------------------
ok "another client is unaffected (200)" eq "$(status_of q1)" 200
# Wrong secrets for svc-quiet: 401 each, and its bucket is not spent by them.
i=1
while [ $i -le 6 ]; do
	cc "bad$i" svc-quiet "wrong-secret-$i"
	i=$((i + 1))
done
ok "a wrong secret is 401, never 429" eq "$(status_of bad1) $(status_of bad6)" "401 401"
cc q2 svc-quiet "$QUIET"
ok "  ... and spends nothing of the client's rate" eq "$(status_of q2)" 200

# ---- waiting Retry-After is enough ------------------------------------------------
j=0
while [ $j -lt 8 ]; do
	cc again0 svc-noisy "$NOISY"
	[ "$(status_of again0)" = 429 ] && break
	j=$((j + 1))
done
wait_s=$(header again0 retry-after)
ok "drained again: 429 with Retry-After" \
	sh -c '[ "$1" = 429 ] && [ -n "$2" ]' - "$(status_of again0)" "$wait_s"
sleep "${wait_s:-1}"
cc again svc-noisy "$NOISY"
ok "after waiting Retry-After ($wait_s s) the client is served again" eq "$(status_of again)" 200
ok "  ... with a token" test -n "$(json again j.access_token)"

# ---- counted and audited ------------------------------------------------------------
req metrics "$AUTHD_ISSUER/metrics"
ok "/metrics counts the refusals at /token" \
	grep -Eq '^authd_token_rate_limited_total\{endpoint="token"\} [1-9]' "$T/metrics.body"
ok "  ... and at /introspect" \
	grep -Eq '^authd_token_rate_limited_total\{endpoint="introspect"\} [1-9]' "$T/metrics.body"
ctl audit show >"$T/audit.out" 2>&1
ok "the refusal is audited (client.rate_limited, svc-noisy)" \
	grep -q '"event":"client.rate_limited".*"client":"svc-noisy"' "$T/audit.out"
ok "  ... once a minute, not per request" \
	eq "$(grep -c '"event":"client.rate_limited"' "$T/audit.out")" 1
ok "the other client was never limited" \
	sh -c '! grep -q "rate_limited.*svc-quiet" "$1"' - "$T/audit.out"
ok "authctl audit verify passes" ctl audit verify

tap_end
