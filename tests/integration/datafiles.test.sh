#!/bin/sh
# tests/integration/datafiles.test.sh BUILD — authd and authctl find the files
# authd ships (authd/datafile.h) with a configuration written by hand that names
# none of them: run from the build tree they use the checkout's share/; a copy
# outside the build tree uses the installed folder ($(PREFIX)/share/authd, in
# BUILD/datadir.stamp). The installed copy itself is proven by make test-fresh,
# which runs `make install` in its throw-away root. Prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-datafiles.XXXXXX") || exit 1
. "$here/lib.sh"

cleanup() {
	stop_pid "$authd_pid"
	rm -rf "$T"
}
on_exit cleanup

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN" "$build/datadir.stamp"; do
	[ -f "$f" ] || bail "$f is missing (make all)"
done
datadir=$(cat "$build/datadir.stamp")
authd_dev_cert

# What an operator would write: no [password] breached_list, nothing about share/.
write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<EOF

[store]
path = data

[password]
argon2_memory_kib = 8192
argon2_ops = 1
EOF
	} >"$T/authd.conf"
}
write_conf 1
ok "the hand-written config names no data file" sh -c '! grep -q breached_list "$1"' - "$T/authd.conf"
authd_init

# authctl: the list is the checkout's, so a listed password is refused as common
# and an unlisted one is accepted.
common=$(grep -m1 -x '[a-z0-9]\{8,\}' "$root/share/common-passwords.txt")
printf '%s\n' "$common" | ctl user add ann --password-stdin >"$T/ann.out" 2>"$T/ann.err"
rc=$?
ok "authctl from the build tree refuses a listed password ($common) as common" \
	sh -c '[ "$1" = 1 ] && grep -q "common or leaked" "$2"' - "$rc" "$T/ann.err"
ok "authctl from the build tree reports no missing list" \
	sh -c '! grep -q "cannot read the common-password list" "$1"' - "$T/ann.err"
authd_user ann "$(newpw)"
ok "authctl from the build tree accepts a password off the list" true

# authd: it does not start without its list, so answering /healthz means found.
if authd_start write_conf /healthz; then
	ok "authd from the build tree starts and answers /healthz" true
	ok "authd from the build tree reports no missing list" \
		sh -c '! grep -q "cannot read the common-password list" "$1"' - "$T/authd.log"
	ok "authd from the build tree stops cleanly" authd_stop
else
	ok "authd from the build tree starts and answers /healthz ($authd_err)" false
	authd_log_tail 10
fi

# A copy outside the build tree (as `make install` leaves one) looks in the
# installed folder: it refuses the listed password when that folder has the list,
# else it names the installed path it could not read.
mkdir -p "$T/sbin"
cp "$AUTHCTL_BIN" "$T/sbin/authctl"
printf '%s\n' "$common" | "$T/sbin/authctl" -c "$T/authd.conf" user add bea --password-stdin \
	>"$T/bea.out" 2>"$T/bea.err"
rc=$?
if [ -f "$datadir/common-passwords.txt" ]; then
	ok "a copy of authctl uses the installed list in $datadir" \
		sh -c '[ "$1" = 1 ] && grep -q "common or leaked" "$2"' - "$rc" "$T/bea.err"
else
	ok "a copy of authctl looks for the list in $datadir" \
		sh -c '[ "$1" = 1 ] && grep -qF "\"path\":\"$3/common-passwords.txt\"" "$2"' \
		- "$rc" "$T/bea.err" "$datadir"
fi
sed 's/^/# /' "$T/bea.err"

tap_end
