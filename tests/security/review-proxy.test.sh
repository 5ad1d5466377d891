#!/bin/sh
# tests/security/review-proxy.test.sh BUILD — what authd believes about a client
# behind a trusted proxy (found while preparing issue 13's load balancer; same
# class as issue 11 item 7: an attacker choosing the address the per-address
# limits and the audit log see). A proxy such as HAProxy's `option forwardfor`
# appends its own X-Forwarded-For line after any the client sent; authd must read
# the header lines in order, as one list (RFC 9110 §5.3), and take the right-most
# address that is not a trusted proxy. A client certificate header from a trusted
# proxy that arrives more than once is ignored (the client may have sent one).
# /metrics answers only the address ranges of [server] metrics_allow, judged on
# the address the proxy vouches for.
# An authd of its own trusting 127.0.0.1; prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-sec-proxy.XXXXXX") || exit 1
. "$root/tests/integration/lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
cleanup() {
	stop_pid "$authd_pid"
	rm -rf "$T"
}
on_exit cleanup

authd_bins
[ -x "$AUTHD_BIN" ] && [ -x "$AUTHCTL_BIN" ] || bail "authd/authctl missing (make all)"
authd_dev_cert

write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<CONF
trusted_proxies = 127.0.0.1
metrics_allow = 198.51.100.0/24, 2001:db8::/32

[store]
path = data
nosync = 1

[password]
breached_list = $root/share/common-passwords.txt

[log]
level = 2
CONF
	} >"$T/authd.conf"
}
write_conf 1
authd_init
authd_start write_conf /healthz || bail "$authd_err"

# peer_of: the peer authd logged for the last request to /healthz.
peer_of() {
	sleep 0.2
	tail -n 50 "$T/authd.log" | grep '"msg":"request"' | grep '"path":"/healthz"' | tail -n 1 |
		sed -n 's/.*"peer":"\([^"]*\)".*/\1/p'
}

req one -H "X-Forwarded-For: 198.51.100.7" "$AUTHD_ISSUER/healthz"
ok "one X-Forwarded-For line from the trusted proxy: its address" eq "$(peer_of)" 198.51.100.7

# The client sent a line of its own; the proxy appended the real address.
req two -H "X-Forwarded-For: 203.0.113.66" -H "X-Forwarded-For: 198.51.100.7" "$AUTHD_ISSUER/healthz"
ok "two X-Forwarded-For lines: the proxy's (last) line decides, not the client's" \
	eq "$(peer_of)" 198.51.100.7

req three -H "X-Forwarded-For: 203.0.113.66, 192.0.2.1" -H "X-Forwarded-For: 198.51.100.8" \
	"$AUTHD_ISSUER/healthz"
ok "a list over two lines reads as one list, right-most first" eq "$(peer_of)" 198.51.100.8

req four -H "X-Forwarded-For: 198.51.100.9" -H "X-Forwarded-For: 127.0.0.1" "$AUTHD_ISSUER/healthz"
ok "a trusted proxy's own address at the end is skipped" eq "$(peer_of)" 198.51.100.9

req five -H "X-Forwarded-For: 198.51.100.9" -H "X-Forwarded-For: not-an-address" "$AUTHD_ISSUER/healthz"
ok "a malformed last entry: the proxy's own address, not the client's choice" eq "$(peer_of)" 127.0.0.1

# /metrics: only the configured ranges, judged on the client behind the proxy.
req m1 -H "X-Forwarded-For: 198.51.100.7" "$AUTHD_ISSUER/metrics"
ok "/metrics from an address in metrics_allow -> 200" eq "$(status_of m1)" 200
ok "... with the counters" grep -q '^authd_store_refused_writes_total ' "$T/m1.body"
req m2 -H "X-Forwarded-For: 203.0.113.66" "$AUTHD_ISSUER/metrics"
ok "/metrics from an address outside metrics_allow -> 403" eq "$(status_of m2)" 403
ok "... and no counter in the answer" sh -c '! grep -q authd_ "$1"' - "$T/m2.body"
req m3 -H "X-Forwarded-For: 203.0.113.66" -H "X-Forwarded-For: 198.51.100.7" "$AUTHD_ISSUER/metrics"
ok "/metrics: the proxy's line decides, not one the client sent" eq "$(status_of m3)" 200
req m4 -H "X-Forwarded-For: 198.51.100.7" -H "X-Forwarded-For: 203.0.113.66" "$AUTHD_ISSUER/metrics"
ok "/metrics: an allowed address the client wrote itself does not count" eq "$(status_of m4)" 403
req m5 "$AUTHD_ISSUER/metrics"
ok "/metrics from loopback when metrics_allow does not list it -> 403" eq "$(status_of m5)" 403

tap_end
