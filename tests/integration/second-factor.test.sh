#!/bin/sh
# tests/integration/second-factor.test.sh BUILD — "ask my second factor at every
# sign-in" (on by default once one is enrolled): a TOTP user signing in to an
# AAL1 app is asked the code; turned off on /account (after a step-up), the
# password alone suffices; turning it off from an under-level session is
# refused with nothing changed; each change audited. Its own authd; prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-2f.XXXXXX") || exit 1
. "$here/lib.sh"

cleanup() {
	stop_pid "$authd_pid"
	rm -rf "$T"
}
on_exit cleanup
trap 'exit 129' HUP
trap 'exit 141' PIPE

authd_bins
for f in "$AUTHD_BIN" "$AUTHCTL_BIN"; do
	[ -x "$f" ] || bail "$f is missing (make all)"
done
command -v oathtool >/dev/null || bail "oathtool is missing (apt-get install oathtool)"

authd_dev_cert
write_conf() { # write_conf PORT
	{
		authd_conf_server "$1"
		cat <<EOF2

[store]
path = data

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
PW_fay=$(newpw)
authd_user fay "$PW_fay" --email fay@city.example

. "$here/totp.sh"
enrol fay

APP1_R=https://app1.city.example/cb
authd_client app1 --redirect-uri $APP1_R --grant authorization_code --scope openid \
	--scope profile --scope email --scope offline_access --min-aal 1
authd_start write_conf || bail "$authd_err"
I=$AUTHD_ISSUER
EN="Accept-Language: en"
audit_count() { # audit_count EVENT [FILTER]
	ctl audit show --last 1000000 2>/dev/null | grep "\"event\":\"$1\"" | grep -c -- "${2:-}"
}

# ---- 1. the default: the code is asked by an AAL1 app ---------------------------
J1="$T/jar.1"
: >"$J1"
settle
authorize s1.az "$J1" app1 $APP1_R
login_page s1.az "$J1"
post_login s1 "$J1" s1.az.page fay "$PW_fay"
ok "default: the password alone leads to the one-time-code page, not back to the AAL1 app" \
	sh -c '[ "$1" = 303 ] && case "$2" in /login\?tx=*) exit 0;; esac; exit 1' - \
	"$(status_of s1)" "$(header s1 location)"
req s1.otp -b "$J1" -c "$J1" -H "$EN" "$I$(header s1 location)"
ok "default: the page asks the code" has "$(body_of s1.otp)" 'name="method" value="totp"'
req s1.code -b "$J1" -c "$J1" -H "$EN" -H "Origin: $I" \
	--data-urlencode "tx=$(hidden_field s1.otp tx)" --data-urlencode "csrf=$(hidden_field s1.otp csrf)" \
	--data-urlencode method=totp --data-urlencode "otp=$(fresh_code fay)" "$I/login"
ok "default: with the code, back to the app with a code" has "$(header s1.code location)" "$APP1_R?code="
ok "default: the sign-in is recorded at aal2" [ "$(audit_count login.success '"acr":"aal2"')" -ge 1 ]

# ---- 2. the account page says so, and the AAL2 session turns it off ---------------
req a1 -b "$J1" -c "$J1" -H "$EN" "$I/account"
ok "account: the preference is shown on" has "$(body_of a1)" "On: every sign-in asks for your second step"
req a1.nocsrf -b "$J1" -c "$J1" -H "$EN" -H "Origin: $I" -d action=second_factor -d ask=off \
	-d csrf=wrong "$I/account"
ok "account: turning it off with a wrong csrf -> 403" eq "$(status_of a1.nocsrf)" 403
req a1.bad -b "$J1" -c "$J1" -H "$EN" -H "Origin: $I" -d action=second_factor -d ask=maybe \
	--data-urlencode "csrf=$(hidden_field a1 csrf)" "$I/account"
ok "account: an unknown value -> 400" eq "$(status_of a1.bad)" 400
ok "account: ... nothing changed, nothing recorded" [ "$(audit_count account.signin.ask_off)" -eq 0 ]
req a2 -b "$J1" -c "$J1" -H "$EN" -H "Origin: $I" -d action=second_factor -d ask=off \
	--data-urlencode "csrf=$(hidden_field a1 csrf)" "$I/account"
ok "account: turned off from the AAL2 session -> 200, the page says what is now true" \
	sh -c '[ "$1" = 200 ] && case "$2" in *"Off: only services that require it"*) exit 0;; esac; exit 1' - \
	"$(status_of a2)" "$(body_of a2)"
ok "account: turning it off is audited (account.signin.ask_off)" \
	[ "$(audit_count account.signin.ask_off '"username":"fay"')" -eq 1 ]
ok "account: ... and listed as a security event" has "$(body_of a2)" "was turned off on"

# ---- 2b. new recovery codes from the AAL2 session: shown once, downloadable -----
OLD_REC=$(sed -n 1p "$T/fay.recovery")
req r1 -b "$J1" -c "$J1" -H "$EN" -H "Origin: $I" -d action=recovery_regen \
	--data-urlencode "csrf=$(hidden_field a1 csrf)" "$I/account"
ok "recovery: regenerate first asks to confirm (200, nothing changed)" \
	sh -c '[ "$1" = 200 ] && [ "$2" -eq 0 ]' - "$(status_of r1)" \
	"$(audit_count account.recovery.regenerate)"
req r2 -b "$J1" -c "$J1" -H "$EN" -H "Origin: $I" -d action=recovery_regen -d confirm=1 \
	--data-urlencode "csrf=$(hidden_field a1 csrf)" "$I/account"
grep -oE '<code>[A-Za-z0-9-]+</code>' "$T/r2.body" | sed 's/<[^>]*>//g' >"$T/new.codes"
ok "recovery: confirmed -> 200 with ten new codes" \
	sh -c '[ "$1" = 200 ] && [ "$2" = 10 ]' - "$(status_of r2)" "$(wc -l <"$T/new.codes" | tr -d ' ')"
ok "recovery: the page is not stored by any cache (Cache-Control: no-store)" \
	has "$(header r2 cache-control)" "no-store"
dl=$(sed -n 's/.*id="download-codes" href="data:text\/plain;charset=utf-8,\([^"]*\)".*/\1/p' "$T/r2.body")
{ urldec "$dl"; echo; } | tr -d '\r' | sed -n '3,12p' >"$T/dl.codes"
ok "recovery: the download link holds the same ten codes, after the account name" \
	sh -c 'cmp -s "$1" "$2" && [ "$3" = fay ]' - "$T/new.codes" "$T/dl.codes" \
	"$(printf '%s' "$(urldec "$dl")" | tr -d '\r' | sed -n 1p)"
ok "recovery: a print button for scripts (print.js)" has "$(body_of r2)" 'id="print-codes"'
ok "recovery: regenerating is audited" [ "$(audit_count account.recovery.regenerate '"username":"fay"')" -eq 1 ]
req r3 -b "$J1" -c "$J1" -H "$EN" "$I/account"
ok "recovery: /account counts ten left, and shows no code again" \
	sh -c 'case "$1" in *"Recovery codes left: 10"*) case "$1" in *"$2"*) exit 1;; esac; exit 0;; esac; exit 1' - \
	"$(body_of r3)" "$(sed -n 1p "$T/new.codes")"
# the old codes are void: a sign-in with one is refused, a new one works
old_code_refused() {
	: >"$T/jar.rc"
	authorize rc.az "$T/jar.rc" app1 $APP1_R "&acr_values=aal2" # the preference is off now
	login_page rc.az "$T/jar.rc"
	post_login rc "$T/jar.rc" rc.az.page fay "$PW_fay"
	req rc.otp -b "$T/jar.rc" -c "$T/jar.rc" -H "$EN" "$I$(header rc location)"
	req rc.old -b "$T/jar.rc" -c "$T/jar.rc" -H "$EN" -H "Origin: $I" \
		--data-urlencode "tx=$(hidden_field rc.otp tx)" --data-urlencode "csrf=$(hidden_field rc.otp csrf)" \
		--data-urlencode method=totp --data-urlencode "recovery_code=$OLD_REC" "$I/login"
	eq "$(status_of rc.old)" 401 || { diag "$(grep -o 'class="error"[^<]*' "$T/rc.old.body") $(header rc location)"; return 1; }
	req rc.new -b "$T/jar.rc" -c "$T/jar.rc" -H "$EN" -H "Origin: $I" \
		--data-urlencode "tx=$(hidden_field rc.otp tx)" --data-urlencode "csrf=$(hidden_field rc.otp csrf)" \
		--data-urlencode method=totp --data-urlencode "recovery_code=$(sed -n 1p "$T/new.codes")" "$I/login"
	has "$(header rc.new location)" "$APP1_R?code="
}
ok "recovery: an old code no longer signs in; a new one does" old_code_refused

# ---- 3. off: the password alone signs in to the AAL1 app ------------------------
J2="$T/jar.2"
: >"$J2"
authorize s2.az "$J2" app1 $APP1_R
login_page s2.az "$J2"
post_login s2 "$J2" s2.az.page fay "$PW_fay"
ok "off: the password alone -> back to the AAL1 app with a code" \
	has "$(header s2 location)" "$APP1_R?code="

# ---- 4. an AAL1 session may turn it on, but not off -----------------------------
req b1 -b "$J2" -c "$J2" -H "$EN" "$I/account"
ok "account (AAL1 session): the preference is shown off" has "$(body_of b1)" "Off: only services that require it"
req b2 -b "$J2" -c "$J2" -H "$EN" -H "Origin: $I" -d action=second_factor -d ask=on \
	--data-urlencode "csrf=$(hidden_field b1 csrf)" "$I/account"
ok "account (AAL1 session): turning it on needs no step-up -> 200, on" \
	sh -c '[ "$1" = 200 ] && case "$2" in *"On: every sign-in asks"*) exit 0;; esac; exit 1' - \
	"$(status_of b2)" "$(body_of b2)"
ok "account: turning it on is audited (account.signin.ask_on)" \
	[ "$(audit_count account.signin.ask_on '"username":"fay"')" -eq 1 ]
req b3 -b "$J2" -c "$J2" -H "$EN" -H "Origin: $I" -d action=second_factor -d ask=off \
	--data-urlencode "csrf=$(hidden_field b1 csrf)" "$I/account"
ok "account (AAL1 session): turning it off -> 303 to a sign-in at the account's level" \
	sh -c '[ "$1" = 303 ] && case "$2" in /login\?tx=*) exit 0;; esac; exit 1' - \
	"$(status_of b3)" "$(header b3 location)"
ok "account: ... the refusal is audited (account.step_up_required, second_factor.off)" \
	[ "$(audit_count account.step_up_required '"action":"second_factor.off"')" -eq 1 ]
ok "account: ... nothing changed (no second ask_off record)" \
	[ "$(audit_count account.signin.ask_off)" -eq 1 ]
req b4 -b "$J2" -c "$J2" -H "$EN" "$I/account"
ok "account: ... the preference is still on" has "$(body_of b4)" "On: every sign-in asks"
J3="$T/jar.3"
: >"$J3"
authorize s3.az "$J3" app1 $APP1_R
login_page s3.az "$J3"
post_login s3 "$J3" s3.az.page fay "$PW_fay"
ok "on again: the password alone leads to the code page" \
	sh -c 'case "$1" in /login\?tx=*) exit 0;; esac; exit 1' - "$(header s3 location)"

req b5 -b "$J2" -c "$J2" -H "$EN" -H "Origin: $I" -d action=recovery_regen -d confirm=1 \
	--data-urlencode "csrf=$(hidden_field b4 csrf)" "$I/account"
ok "recovery (AAL1 session): regenerate -> 303 to a sign-in, no codes shown, nothing changed" \
	sh -c '[ "$1" = 303 ] && [ "$2" -eq 1 ] && case "$3" in *"<code>"*) exit 1;; esac; exit 0' - \
	"$(status_of b5)" "$(audit_count account.recovery.regenerate)" "$(body_of b5)"

# ---- 5. the help desk: authctl user second-factor ------------------------------
ok "authctl: user second-factor fay off -> 0" ctl user second-factor fay off
ok "authctl: ... audited (admin.user.ask_off)" [ "$(audit_count admin.user.ask_off '"username":"fay"')" -eq 1 ]
req c1 -b "$J2" -c "$J2" -H "$EN" "$I/account"
ok "account: the help desk's change is announced to the person" \
	has "$(body_of c1)" "The help desk turned off asking for your second step"
ok "account: ... and the page says it is off" has "$(body_of c1)" "Off: only services that require it"
ctl user second-factor fay maybe 2>/dev/null
ok "authctl: user second-factor with neither on nor off -> usage error (2)" eq $? 2
ctl user second-factor nobody on 2>/dev/null
ok "authctl: user second-factor for an unknown user -> refused" [ $? -ne 0 ]

if [ "$tap_failed" -ne 0 ]; then
	diag "---- last 30 lines of this authd's log ----"
	tail -n 30 "$T/authd.log" | sed 's/^/# /'
fi
tap_end
