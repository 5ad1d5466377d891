#!/bin/sh
# tests/pam/run.sh BUILD — pam_authd.so end to end: one real authd on a free
# loopback port (fresh store, dev TLS certificate, users with groups and TOTP,
# three host clients made with authctl), then
#   1. test_pam: cmocka + libpamtest through pam_wrapper (real libpam),
#   2. pamtester (Debian) through pam_wrapper,
#   3. a real sshd (Debian openssh-server) on a random loopback port, with its
#      PAM service from pam_wrapper and its users from nss_wrapper (no real
#      account is created), logged into by ssh under expect over
#      keyboard-interactive: password+OTP, a wrong OTP, and device mode with the
#      code approved through authd's /device page by curl while ssh waits.
# Prints TAP and ends with "pam: N passed, N failed"; exits non-zero on failure.
# tests/pam/run.sh BUILD --bench instead measures PAM password+OTP login latency
# (p50/p99 over BENCH_PAM_N logins, default 50, each by its own user with TOTP,
# Argon2id at the production 19 MiB, t=2) with tests/pam/bench_pam.
# Cleans up authd, sshd, its temp folder and pam_wrapper's folders.
set -u

build=${1:-build}
bench=0
[ "${2:-}" = "--bench" ] && bench=1
bench_n=${BENCH_PAM_N:-50}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "$build"
cd "$root" || exit 1

suite=pam
sshd_pid=
flaky_pid=
made_privsep=0
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-pam.XXXXXX") || exit 1
chmod 0755 "$T"
# pam_wrapper makes /tmp/pam.[0-9A-Za-z] per process; note what exists now so
# that only ours are removed.
pamdirs_before=$(ls -d /tmp/pam.? 2>/dev/null | tr '\n' ' ')

clean_pam_dirs() {
	for d in /tmp/pam.?; do
		[ -d "$d" ] || continue
		case " $pamdirs_before " in *" $d "*) continue ;; esac
		rm -rf "$d"
	done
}

cleanup() {
	stop_pid "$sshd_pid"
	stop_pid "$flaky_pid"
	stop_pid "$authd_pid"
	[ $made_privsep = 1 ] && rmdir /run/sshd 2>/dev/null
	clean_pam_dirs
	if [ -n "${PAM_TEST_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
on_exit cleanup

ok() { tap_pass "$1"; }
# notok DESC [FILE...]: a failing line, with the end of each FILE below it.
notok() {
	tap_fail "$1"
	shift
	for f in "$@"; do
		[ -s "$f" ] && tail -n 15 "$f" | sed 's/^/#   /'
	done
	return 0
}
skip() { tap_pass "$1 # SKIP $2"; }

authd_bins
PAM_SO="$build/pam/pam_authd.so"
for f in "$AUTHD_BIN" "$AUTHCTL_BIN" "$PAM_SO" "$build/tests/pam/test_pam"; do
	[ -e "$f" ] || bail "$f is missing (make all pam)"
done
[ "$(id -u)" = 0 ] || bail "the PAM tests run as root (the module trusts only root-owned files)"
libdir=$(dirname "$(gcc -print-file-name=libc.so.6 2>/dev/null)")
[ -d "$libdir" ] || libdir=/usr/lib/x86_64-linux-gnu
PWRAP=$(ls "$libdir/libpam_wrapper.so" /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -n 1)
NWRAP=$(ls "$libdir/libnss_wrapper.so" /usr/lib/*/libnss_wrapper.so 2>/dev/null | head -n 1)
PERMIT=$(ls /lib/*/security/pam_permit.so /usr/lib/*/security/pam_permit.so 2>/dev/null | head -n 1)
UNIX=$(ls /lib/*/security/pam_unix.so /usr/lib/*/security/pam_unix.so 2>/dev/null | head -n 1)
[ -n "$PWRAP" ] || bail "libpam_wrapper.so not found (make deps-test)"
[ -n "$PERMIT" ] || bail "pam_permit.so not found"
[ -n "$UNIX" ] || bail "pam_unix.so not found"
command -v oathtool >/dev/null || bail "oathtool missing (make deps-test)"

# ---- the instance -------------------------------------------------------
authd_dev_cert
export AUTHD_CA
chmod 0644 "$AUTHD_CA"

write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<EOF

[store]
path = data

[password]
argon2_memory_kib = $argon2_kib
argon2_ops = $argon2_ops
breached_list = $root/share/common-passwords.txt

[throttle]
account_max_failures = 5
account_lockout_s = 120
address_free_failures = 1000
address_base_delay_ms = 100

[totp]
; three steps ahead: each OTP login below uses a code from a later step than
; the one its enrolment (or the previous login) used up.
window = 3

[log]
level = 2
EOF
	} >"$T/authd.conf"
}
if [ $bench = 1 ]; then argon2_kib=19456 argon2_ops=2; else argon2_kib=8192 argon2_ops=1; fi

write_conf 1
authd_init

export AUTHD_USER=alice AUTHD_PASSWORD="$(newpw)"
export AUTHD_USER2=bob AUTHD_PASSWORD2="$(newpw)"
export AUTHD_USER3=carol AUTHD_PASSWORD3="$(newpw)"
DAVE_PASSWORD=$(newpw)
adduser() { authd_user "$@"; } # adduser NAME PASSWORD [--group G]...
adduser alice "$AUTHD_PASSWORD" --group ops
adduser bob "$AUTHD_PASSWORD2" --group ops --group db
adduser carol "$AUTHD_PASSWORD3"
adduser dave "$DAVE_PASSWORD" --group ops
# erin: an authd account whose host account has another, local password with a
# control byte in it (only a fallback to pam_unix could accept that one).
ERIN_PASSWORD=$(newpw)
ERIN_LOCAL="Erin-$(printf '\001')-$(newpw)"
adduser erin "$ERIN_PASSWORD" --group ops

# totp_enrol NAME: prints the base32 secret; the enrolment uses the current code.
totp_enrol() {
	rm -f "$T/code-in"
	mkfifo "$T/code-in"
	ctl totp enrol "$1" --code-stdin <"$T/code-in" >"$T/totp-$1.out" 2>"$T/totp-$1.err" &
	tp=$!
	exec 3>"$T/code-in"
	i=0
	while [ $i -lt 100 ] && ! grep -q '^otpauth://' "$T/totp-$1.out" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	sec=$(sed -n 's/^otpauth:.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/totp-$1.out")
	[ -n "$sec" ] && oathtool --totp -b "$sec" >&3
	exec 3>&-
	wait "$tp" || return 1
	echo "$sec"
}
AUTHD_TOTP2=$(totp_enrol bob) || bail "totp enrol bob failed: $(tail -n 3 "$T/totp-bob.err")"
DAVE_TOTP=$(totp_enrol dave) || bail "totp enrol dave failed: $(tail -n 3 "$T/totp-dave.err")"
# approve.sh approves dave's device login with the password alone (an AAL1
# host): dave has turned off "ask my second factor at every sign-in" (on by
# default once TOTP is enrolled; tests/integration/second-factor.test.sh).
ctl user second-factor dave off 2>/dev/null || bail "authctl user second-factor dave off failed"
# frank: TOTP enrolled, for test_pam's malformed codes (each one a counted failure).
export AUTHD_USER4=frank AUTHD_PASSWORD4="$(newpw)"
adduser frank "$AUTHD_PASSWORD4" --group ops
totp_enrol frank >/dev/null || bail "totp enrol frank failed: $(tail -n 3 "$T/totp-frank.err")"
export AUTHD_TOTP2

# Host clients: confidential, password grant, at AAL1 and AAL2; a device client.
addclient() { # addclient ID ARGS...: the secret in client_secret
	_id=$1
	shift
	authd_client "$_id" --redirect-uri "https://$_id.city.example/cb" \
		--scope openid --scope profile --scope groups "$@"
}
addclient host-aal1 --grant password --min-aal 1
secret_aal1=$client_secret
addclient host-aal2 --grant password --min-aal 2
secret_aal2=$client_secret
addclient host-dev --grant urn:ietf:params:oauth:grant-type:device_code --min-aal 1 --host \
	--name "web01 (test host)"
secret_dev=$client_secret
for s in "$secret_aal1" "$secret_aal2" "$secret_dev"; do
	[ -n "$s" ] || bail "authctl client add printed no client_secret"
done

# ---- start (20 s), on a new port if bind failed ----------------------------
authd_start write_conf || bail "$authd_err"
echo "# authd pid $authd_pid at $AUTHD_ISSUER"

# ---- host configuration as an administrator would write it ----------------
mkdir -p "$T/etc" "$T/work" "$T/svc"
chmod 0755 "$T/etc" "$T/work" "$T/svc"
hostconf() { # hostconf NAME CLIENT SECRET [ISSUER]
	umask 077
	printf '%s\n' "$3" >"$T/etc/$1.secret"
	umask 022
	cat >"$T/etc/$1.conf" <<EOF
; pam_authd host configuration ($1)
[authd]
issuer = ${4:-$AUTHD_ISSUER}
client_id = $2
secret_file = $T/etc/$1.secret
ca_file = $AUTHD_CA
timeout_ms = 5000
scope = openid profile groups
EOF
	chmod 0644 "$T/etc/$1.conf"
}
hostconf aal1 host-aal1 "$secret_aal1"
hostconf aal2 host-aal2 "$secret_aal2"
hostconf dev host-dev "$secret_dev"
# authd down: the same client at a port nothing listens on.
closed=$(authd_free_port)
hostconf down host-aal1 "$secret_aal1" "https://127.0.0.1:$closed"

# An authd that answers the password step and then stops answering
# (flaky-authd.mjs), for the rule that a failure after an answer is a refusal.
FLAKY_CLIENT=host-aal1 FLAKY_SECRET="$secret_aal1" node "$here/flaky-authd.mjs" \
	"$T/certs/tls.crt" "$T/certs/tls.key" >"$T/flaky.port" 2>"$T/flaky.err" &
flaky_pid=$!
i=0
while [ ! -s "$T/flaky.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$T/flaky.port" ] || bail "flaky-authd.mjs did not start: $(tail -n 3 "$T/flaky.err")"
hostconf flaky host-aal1 "$secret_aal1" "https://127.0.0.1:$(cat "$T/flaky.port")"

export PAM_AUTHD_SO="$PAM_SO" PAM_PERMIT_SO="$PERMIT" PAM_AUTHD_WORK="$T/work"
export PAM_AUTHD_CONF_AAL1="$T/etc/aal1.conf" PAM_AUTHD_CONF_AAL2="$T/etc/aal2.conf"
export PAM_AUTHD_CONF_DOWN="$T/etc/down.conf"
export PAM_AUTHD_SECRET_AAL1="$T/etc/aal1.secret" PAM_AUTHD_CLIENT_AAL1=host-aal1

# ---- bench: one password+OTP login per user, each with a fresh TOTP ----------
if [ $bench = 1 ]; then
	[ -x "$build/tests/pam/bench_pam" ] || bail "$build/tests/pam/bench_pam is missing (make pam)"
	: >"$T/bench-users"
	i=1
	while [ $i -le "$bench_n" ]; do
		pw=$(newpw)
		adduser "pb$i" "$pw" --group ops
		sec=$(totp_enrol "pb$i") || bail "totp enrol pb$i failed"
		echo "pb$i $pw $sec" >>"$T/bench-users"
		i=$((i + 1))
	done
	printf 'auth required %s config=%s\n' "$PAM_SO" "$T/etc/aal2.conf" >"$T/svc/authd-bench"
	LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
		"$build/tests/pam/bench_pam" authd-bench "$T/bench-users" 2>"$T/bench.err"
	rc=$?
	[ $rc -eq 0 ] || sed 's/^/# /' "$T/bench.err" | grep -v PWRAP_ | tail -n 5
	clean_pam_dirs
	exit $rc
fi

# ---- 1. libpamtest ----------------------------------------------------------
echo "# ---- test_pam (cmocka + libpamtest + pam_wrapper)"
# The services test_pam uses (pam_wrapper reads the folder once, at load).
svc() { # svc NAME AUTH-ARGS [ACCOUNT-ARGS]
	printf 'auth required %s %s\naccount required %s %s\n' "$PAM_SO" "$2" "$PAM_SO" "${3:-}" \
		>"$T/svc/$1"
}
svc authd-aal1 "config=$T/etc/aal1.conf" group=ops
svc authd-aal2 "config=$T/etc/aal2.conf" group=ops
svc authd-first-pass "config=$T/etc/aal1.conf use_first_pass"
svc authd-down "config=$T/etc/down.conf timeout=2" group=ops
svc authd-flaky "config=$T/etc/flaky.conf timeout=2"
svc authd-silent "config=$T/work/silent.conf timeout=2" group=ops
for r in control secret-0644 secret-0640 conf-0666 conf-key conf-scope badsecret; do
	svc "authd-$r" "config=$T/work/$r.conf"
done
svc authd-missing "config=/nonexistent/pam.conf"
svc authd-badarg "config=$T/etc/aal1.conf grup=ops"
printf 'account required %s\naccount required %s\n' "$PAM_SO" "$PERMIT" >"$T/svc/authd-acct-ignore"
LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" PAM_WRAPPER_DEBUGLEVEL=2 \
	CMOCKA_MESSAGE_OUTPUT=TAP "$build/tests/pam/test_pam" >"$T/cm.out" 2>"$T/cm.err"
rc=$?
# cmocka's TAP numbers restart; renumber into ours.
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok "test_pam: ${line#ok [0-9]* - }" ;;
	"not ok "*) notok "test_pam: ${line#not ok [0-9]* - }" ;;
	"#"*) echo "$line" ;;
	esac
done <"$T/cm.out"
grep -v '^PWRAP_' "$T/cm.err" | sed 's/^/# stderr: /' | tail -n 20
[ $rc -eq 0 ] || grep -q '^not ok' "$T/cm.out" || notok "test_pam exited $rc" "$T/cm.err"

# ---- 2. pamtester -------------------------------------------------------------
echo "# ---- pamtester + pam_wrapper"
cat >"$T/svc/authd-pamtester" <<EOF
auth required $PAM_SO config=$T/etc/aal1.conf
account required $PAM_SO config=$T/etc/aal1.conf group=ops
EOF
pamtester_run() { # pamtester_run PASSWORD USER
	printf '%s\n' "$1" | LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
		timeout 30 pamtester -v authd-pamtester "$2" authenticate acct_mgmt \
		>"$T/pamtester.out" 2>&1
}
if command -v pamtester >/dev/null; then
	pamtester_run "$AUTHD_PASSWORD" alice
	rc=$?
	if [ $rc -eq 0 ] && grep -q 'successfully authenticated' "$T/pamtester.out"; then
		ok "pamtester: right password, group ops: authenticate + acct_mgmt succeed"
	else
		notok "pamtester: right password (exit $rc)" "$T/pamtester.out"
	fi
	pamtester_run "Wrong-Password-$$" alice
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'Authentication failure' "$T/pamtester.out"; then
		ok "pamtester: wrong password fails with Authentication failure"
	else
		notok "pamtester: wrong password (exit $rc)" "$T/pamtester.out"
	fi
	# The refusal's syslog line names the remote host (PAM_RHOST), as pam_unix's
	# do, for fail2ban and the like.
	printf '%s\n' "Wrong-Password-$$" | LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/svc" PAM_WRAPPER_DEBUGLEVEL=2 timeout 30 \
		pamtester -v -I rhost=192.0.2.7 authd-pamtester alice authenticate >"$T/pamtester-rhost.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'SYSLOG(5): authentication failure for alice rhost=192.0.2.7: password refused' \
		"$T/pamtester-rhost.out" && ! grep -q 'unavailable' "$T/pamtester-rhost.out"; then
		ok "pamtester: a refusal is logged at notice level with rhost"
	else
		notok "pamtester: refusal log line with rhost (exit $rc)" "$T/pamtester-rhost.out"
	fi
	pamtester_run "$AUTHD_PASSWORD3" carol
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'successfully authenticated' "$T/pamtester.out" &&
		grep -qi 'permission denied' "$T/pamtester.out"; then
		ok "pamtester: carol authenticates but acct_mgmt refuses her (not in ops)"
	else
		notok "pamtester: carol without the group (exit $rc)" "$T/pamtester.out"
	fi
else
	skip "pamtester" "pamtester not installed"
fi

# ---- 3. a real sshd -------------------------------------------------------------
echo "# ---- sshd + pam_wrapper + nss_wrapper + expect"
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ] || [ -z "$NWRAP" ] || ! command -v expect >/dev/null; then
	skip "sshd logins" "needs openssh-server, libnss-wrapper and expect (make deps-test)"
	clean_pam_dirs
	finish
fi
# sshd's privilege-separation chroot; Debian's service normally creates it.
if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd && made_privsep=1
fi
mkdir -p "$T/ssh" "$T/home/dave" "$T/home/erin" "$T/sshsvc-pw" "$T/sshsvc-dev" "$T/sshsvc-fb" \
	"$T/sshsvc-fbdown"
chmod 0755 "$T/ssh" "$T/home" "$T/home/dave" "$T/home/erin" "$T/sshsvc-pw" "$T/sshsvc-dev" \
	"$T/sshsvc-fb" "$T/sshsvc-fbdown"
# Users that exist for sshd only, through nss_wrapper. Their local password
# hashes sit in the passwd field, where pam_unix (the fallback) reads them:
# dave's local password is his authd password (as when the two are kept in
# step), erin's is another one, with a control byte.
dave_hash=$(printf '%s\n' "$DAVE_PASSWORD" | openssl passwd -6 -stdin)
erin_hash=$(printf '%s\n' "$ERIN_LOCAL" | openssl passwd -6 -stdin)
cat >"$T/ssh/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
sshd:x:74:65534:privsep:/run/sshd:/usr/sbin/nologin
dave:$dave_hash:40001:40001:Dave:$T/home/dave:/bin/sh
erin:$erin_hash:40002:40002:Erin:$T/home/erin:/bin/sh
EOF
cat >"$T/ssh/group" <<EOF
root:x:0:
nogroup:x:65534:
dave:x:40001:
erin:x:40002:
EOF
chown 40001:40001 "$T/home/dave"
chown 40002:40002 "$T/home/erin"
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host_ed25519" >/dev/null 2>&1 ||
	bail "ssh-keygen failed"
cat >"$T/sshsvc-pw/sshd" <<EOF
auth required $PAM_SO config=$T/etc/aal2.conf
account required $PAM_SO config=$T/etc/aal2.conf group=ops
session required $PERMIT
EOF
cat >"$T/sshsvc-dev/sshd" <<EOF
auth required $PAM_SO config=$T/etc/dev.conf mode=device timeout=60
account required $PAM_SO config=$T/etc/dev.conf group=ops
session required $PERMIT
EOF
# The fallback stack docs/pam.md recommends: local passwords only when authd
# cannot be reached. account is pam_permit, so that any way through auth logs in.
for fb in fb:aal2 fbdown:down; do
	cat >"$T/sshsvc-${fb%%:*}/sshd" <<EOF
auth [success=done authinfo_unavail=ignore default=die] $PAM_SO config=$T/etc/${fb#*:}.conf
auth required $UNIX try_first_pass
account required $PERMIT
session required $PERMIT
EOF
done

start_sshd() { # start_sshd SERVICE-DIR: sets sshd_port, sshd_pid
	sshd_pid=
	for attempt in 1 2 3; do
		sshd_port=$(authd_free_port)
		cat >"$T/ssh/sshd_config" <<EOF
Port $sshd_port
ListenAddress 127.0.0.1
HostKey $T/ssh/host_ed25519
PidFile $T/ssh/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
PermitRootLogin no
AuthorizedKeysFile none
StrictModes no
PrintMotd no
PrintLastLog no
LoginGraceTime 90
MaxAuthTries 3
LogLevel VERBOSE
EOF
		env LD_PRELOAD="$PWRAP $NWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$1" \
			PAM_WRAPPER_DEBUGLEVEL=2 \
			NSS_WRAPPER_PASSWD="$T/ssh/passwd" NSS_WRAPPER_GROUP="$T/ssh/group" \
			"$SSHD" -D -e -f "$T/ssh/sshd_config" >>"$T/sshd.log" 2>&1 &
		sshd_pid=$!
		i=0
		while [ $i -lt 50 ]; do
			kill -0 "$sshd_pid" 2>/dev/null || break
			if timeout 2 ssh-keyscan -p "$sshd_port" 127.0.0.1 >/dev/null 2>&1; then
				return 0
			fi
			sleep 0.1
			i=$((i + 1))
		done
		stop_pid "$sshd_pid"
		sshd_pid=
	done
	return 1
}

ssh_login() { # ssh_login NAME USER PASSWORD OTP|device: runs expect, keeps $T/NAME.log
	AUTHD_ISSUER="$AUTHD_ISSUER" AUTHD_CA="$AUTHD_CA" APPROVE="$here/approve.sh" \
		APPROVE_LOG="$T/$1.approve" timeout 120 expect -f "$here/ssh_login.exp" \
		"$sshd_port" "$2" "$3" "$4" >"$T/$1.log" 2>&1
}

if start_sshd "$T/sshsvc-pw"; then
	echo "# sshd pid $sshd_pid on 127.0.0.1:$sshd_port (password + OTP service)"
	code=$(oathtool --totp -N 'now + 30 seconds' -b "$DAVE_TOTP")
	bad=$(printf '%s' "$code" | sed 's/.$//')$(( ($(printf '%s' "$code" | tail -c 1) + 1) % 10 ))
	ssh_login ssh-badotp dave "$DAVE_PASSWORD" "$bad"
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'Permission denied' "$T/ssh-badotp.log"; then
		ok "sshd: password + wrong OTP is refused"
	else
		notok "sshd: password + wrong OTP (exit $rc)" "$T/ssh-badotp.log" "$T/sshd.log"
	fi
	ssh_login ssh-otp dave "$DAVE_PASSWORD" "$code"
	rc=$?
	if [ $rc -eq 0 ] && grep -q 'LOGIN-OK' "$T/ssh-otp.log"; then
		ok "sshd: keyboard-interactive password + OTP login succeeds"
	else
		notok "sshd: password + OTP login (exit $rc)" "$T/ssh-otp.log" "$T/sshd.log"
	fi
	ssh_login ssh-replay dave "$DAVE_PASSWORD" "$code"
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'Permission denied' "$T/ssh-replay.log"; then
		ok "sshd: the same OTP again is refused (replay)"
	else
		notok "sshd: OTP replay (exit $rc)" "$T/ssh-replay.log" "$T/sshd.log"
	fi
	stop_pid "$sshd_pid"
	sshd_pid=
else
	notok "sshd (password service) did not start" "$T/sshd.log"
fi

if start_sshd "$T/sshsvc-dev"; then
	echo "# sshd pid $sshd_pid on 127.0.0.1:$sshd_port (device service)"
	ssh_login ssh-device dave "$DAVE_PASSWORD" device
	rc=$?
	if [ $rc -eq 0 ] && grep -q 'LOGIN-OK' "$T/ssh-device.log" &&
		grep -q 'approved' "$T/ssh-device.approve"; then
		ok "sshd: device mode login succeeds after approval at /device"
	else
		notok "sshd: device mode login (exit $rc)" "$T/ssh-device.log" \
			"$T/ssh-device.approve" "$T/sshd.log"
	fi
	check "sshd: the device prompt showed the verification URI and code" \
		grep -q "Open $AUTHD_ISSUER/device and enter code [A-Z0-9]\{4\}-[A-Z0-9]\{4\}" \
		"$T/ssh-device.log"
	check "sshd: ... and no link with the code in it (the person types the code)" \
		sh -c '! grep -q "user_code=" "$1"' - "$T/ssh-device.log"
	check "device approval page named the host, the account, both addresses and the time" \
		sh -c 'grep -qx "host: web01 (test host)" "$1" && grep -qx "account: dave" "$1" &&
			grep -qx "from: 127.0.0.1" "$1" && grep -qx "remote: 127.0.0.1" "$1" &&
			grep -q "^time: 20[0-9-]* [0-9:]* (UTC[+-][0-9]*)$" "$1"' - "$T/ssh-device.approve"
	stop_pid "$sshd_pid"
	sshd_pid=
else
	notok "sshd (device service) did not start" "$T/sshd.log"
fi

# ---- the fallback stack: an answer from authd is never a reason to fall back -------
# sshd's PAM process runs with an empty environment, so pam_wrapper shows only
# its LOG_ERR lines (such as "authd unavailable") in sshd.log; that is the line
# a refusal must never produce.
unavail_lines() { grep -c 'authd unavailable' "$T/sshd.log"; }
# refused_no_fallback NAME DESCRIPTION (after ssh_login NAME ...): ssh failed,
# no shell ran, no new "unavailable" line.
refused_no_fallback() {
	rc=$?
	if [ $rc -ne 0 ] && ! grep -q 'LOGIN-OK' "$T/$1.log" && grep -q 'Permission denied' "$T/$1.log" &&
		[ "$(unavail_lines)" = "$u0" ]; then
		ok "sshd fallback stack: $2 -> refused, no fallback login, no 'unavailable' line"
	else
		notok "sshd fallback stack: $2 (exit $rc, unavailable lines $u0 -> $(unavail_lines))" \
			"$T/$1.log" "$T/sshd.log"
	fi
}
if start_sshd "$T/sshsvc-fb"; then
	echo "# sshd pid $sshd_pid on 127.0.0.1:$sshd_port (authd, local fallback)"
	u0=$(unavail_lines)
	ssh_login fb-7digits dave "$DAVE_PASSWORD" 1234567
	refused_no_fallback fb-7digits "right password + a 7-digit code (1234567)"
	ssh_login fb-letters dave "$DAVE_PASSWORD" abcdef
	refused_no_fallback fb-letters "right password + letters as the code"
	ssh_login fb-recovery dave "$DAVE_PASSWORD" abcd-efgh-jkmn
	refused_no_fallback fb-recovery "right password + a recovery-code shape as the code"
	ssh_login fb-control erin "$ERIN_LOCAL" none
	refused_no_fallback fb-control "a password with a control byte (erin's local one)"
	ssh_login fb-nonlocal alice "$AUTHD_PASSWORD" none
	refused_no_fallback fb-nonlocal "a name authd knows but the host does not (sshd's fake password)"
	ssh_login fb-bot "admin$$" "Password1" none
	refused_no_fallback fb-bot "a bot's guess at a name nobody has"
	code=$(oathtool --totp -N 'now + 60 seconds' -b "$DAVE_TOTP")
	ssh_login fb-ok dave "$DAVE_PASSWORD" "$code"
	rc=$?
	if [ $rc -eq 0 ] && grep -q 'LOGIN-OK' "$T/fb-ok.log"; then
		ok "sshd fallback stack: right password + right code logs in through authd (control)"
	else
		notok "sshd fallback stack: password + OTP (exit $rc)" "$T/fb-ok.log" "$T/sshd.log"
	fi
	stop_pid "$sshd_pid"
	sshd_pid=
else
	notok "sshd (fallback service) did not start" "$T/sshd.log"
fi
if start_sshd "$T/sshsvc-fbdown"; then
	echo "# sshd pid $sshd_pid on 127.0.0.1:$sshd_port (authd unreachable, local fallback)"
	u0=$(unavail_lines)
	ssh_login fbdown-ok dave "$DAVE_PASSWORD" none
	rc=$?
	if [ $rc -eq 0 ] && grep -q 'LOGIN-OK' "$T/fbdown-ok.log" && [ "$(unavail_lines)" -gt "$u0" ]; then
		ok "sshd fallback stack, authd unreachable: the local password logs in, 'authd unavailable' logged (control)"
	else
		notok "sshd fallback stack, authd down (exit $rc, unavailable lines $u0 -> $(unavail_lines))" \
			"$T/fbdown-ok.log" "$T/sshd.log"
	fi
	stop_pid "$sshd_pid"
	sshd_pid=
else
	notok "sshd (fallback, authd down) did not start" "$T/sshd.log"
fi

# ---- what was left behind --------------------------------------------------------
no_secret_logged() {
	for s in "$AUTHD_PASSWORD" "$AUTHD_PASSWORD2" "$AUTHD_PASSWORD3" "$DAVE_PASSWORD" \
		"$ERIN_PASSWORD" "$ERIN_LOCAL" "$AUTHD_PASSWORD4" \
		"$secret_aal1" "$secret_aal2" "$secret_dev"; do
		if grep -qF -- "$s" "$T/sshd.log" "$T/cm.err" "$T/authd.log" 2>/dev/null; then
			return 1
		fi
	done
	return 0
}
check "no password or client secret in the sshd, PAM or authd logs" no_secret_logged
# pam_wrapper prints pam_syslog lines on stderr: test_pam's (sshd's re-executed
# children have no stderr to keep).
check "pam_authd's syslog lines say who was authenticated" \
	grep -q 'SYSLOG(6): alice authenticated by authd (password)' "$T/cm.err"
check "pam_authd's syslog lines say why a login failed (refused one-time code)" \
	grep -q 'SYSLOG(5): authentication failure for bob rhost=: one-time code refused' "$T/cm.err"
check "refusals are never logged as 'authd unavailable' (test_pam's refusals)" \
	sh -c '! grep "authd unavailable" "$1" | grep -qv "password for \(alice\|down\) rhost="' - "$T/cm.err"
check "a failure to reach authd after its answer is a refusal at error level (flaky authd)" \
	grep -q 'SYSLOG(3): authentication failure for flaky rhost=: authd answered the first step but not the one-time code' \
	"$T/cm.err"
check "a wrong client secret is logged at error level as a configuration problem" \
	grep -q 'SYSLOG(3): authentication failure for alice rhost=: authd refused this host.s client credentials' \
	"$T/cm.err"
check "pam_authd's syslog lines say when authd is unreachable" \
	grep -q 'SYSLOG(3): authd unavailable during password for alice' "$T/cm.err"
clean_pam_dirs
left=
for d in /tmp/pam.?; do
	[ -d "$d" ] || continue
	case " $pamdirs_before " in *" $d "*) ;; *) left="$left $d" ;; esac
done
check "no pam_wrapper folder is left behind" test -z "$left"
finish
