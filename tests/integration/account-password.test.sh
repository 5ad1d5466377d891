#!/bin/sh
# tests/integration/account-password.test.sh BUILD — changing one's own password
# on /account, against an authd of its own: the current password (counted like a
# sign-in attempt, before it is checked), the password rules, the confirmation
# field, "sign out my other sessions", CSRF; audited and shown as a security
# event; every refusal changes nothing. Prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/authd.sh"
authd_paths "${1:-}"
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-pw.XXXXXX") || exit 1
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

authd_dev_cert
# Three wrong passwords per account and address before the back-off: the
# throttle test below reaches it quickly.
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

[throttle]
account_max_failures = 3
address_free_failures = 1000

[log]
level = 2
EOF2
	} >"$T/authd.conf"
}
write_conf 1
authd_init
PW1=$(newpw)
authd_user gus "$PW1" --email gus@city.example
PWI=$(newpw)
authd_user ivy "$PWI" --email ivy@city.example
authd_start write_conf || bail "$authd_err"
I=$AUTHD_ISSUER
EN="Accept-Language: en"
audit_count() { # audit_count EVENT [FILTER]
	ctl audit show --last 1000000 2>/dev/null | grep "\"event\":\"$1\"" | grep -c -- "${2:-}"
}

# signin B USER PASSWORD: browser B (cookie jar $T/B) signs in on /account
# (the page in B.acct); 0 when it got there.
signin() {
	: >"$T/$1"
	req "$1.a" -b "$T/$1" -c "$T/$1" -H "$EN" "$I/account"
	req "$1.p" -b "$T/$1" -c "$T/$1" -H "$EN" "$I$(header "$1.a" location)"
	post_login "$1.l" "$T/$1" "$1.p" "$2" "$3"
	req "$1.acct" -b "$T/$1" -c "$T/$1" -H "$EN" "$I/account"
	[ "$(status_of "$1.l")" = 303 ] && [ "$(status_of "$1.acct")" = 200 ]
}
# change NAME B CURRENT NEW CONFIRM [EXTRA...]: posts the form of B.acct
change() {
	n=$1 j=$2 c=$3 nw=$4 cf=$5
	shift 5
	req "$n" -b "$T/$j" -c "$T/$j" -H "$EN" -H "Origin: $I" -d action=password_change \
		--data-urlencode "csrf=$(hidden_field "$j.acct" csrf)" --data-urlencode "current=$c" \
		--data-urlencode "new=$nw" --data-urlencode "confirm=$cf" "$@" "$I/account"
}
# can_sign_in USER PASSWORD: a fresh sign-in with it reaches /account
can_sign_in() { signin probe "$1" "$2"; }
cannot_sign_in() { ! signin probe "$1" "$2"; }

JA=ja JB=jb
two() { signin "$JA" gus "$PW1" && signin "$JB" gus "$PW1"; }
ok "gus signs in twice (two browsers)" two
ok "the page has the change form with the rules' fields" \
	sh -c 'case "$1" in *"name=\"current\" type=\"password\" autocomplete=\"current-password\""*"autocomplete=\"new-password\""*"name=\"signout_others\""*) exit 0;; esac; exit 1' - \
	"$(body_of "$JA.acct")"

PW2=$(newpw)
# ---- refusals: nothing changed ---------------------------------------------------
req c0 -b "$T/$JA" -c "$T/$JA" -H "$EN" -H "Origin: $I" -d action=password_change \
	--data-urlencode "current=$PW1" --data-urlencode "new=$PW2" --data-urlencode "confirm=$PW2" "$I/account"
ok "no csrf -> 403" eq "$(status_of c0)" 403
change c1 "$JA" "$PW1" "$PW2" "${PW2}x"
ok "the confirmation differs -> 400 with the message" \
	sh -c '[ "$1" = 400 ] && case "$2" in *"The two new passwords are not the same"*) exit 0;; esac; exit 1' - \
	"$(status_of c1)" "$(body_of c1)"
change c2 "$JA" "$PW1" "password123" "password123"
ok "a common (breached-list) password -> 400 with the rule's message" \
	sh -c '[ "$1" = 400 ] && case "$2" in *role=\"alert\"*common*) exit 0;; esac; exit 1' - \
	"$(status_of c2)" "$(body_of c2)"
change c3 "$JA" "$PW1" "short" "short"
ok "a short password -> 400 with the rule's message" \
	sh -c '[ "$1" = 400 ] && case "$2" in *role=\"alert\"*characters*) exit 0;; esac; exit 1' - \
	"$(status_of c3)" "$(body_of c3)"
change c4 "$JA" "" "$PW2" "$PW2"
ok "no current password (an AAL1 session) -> 400" eq "$(status_of c4)" 400
ok "the refusals recorded no change" [ "$(audit_count account.password.change)" -eq 0 ]
ok "... and the old password still signs in" can_sign_in gus "$PW1"

change c5 "$JA" "wrong-$PW1" "$PW2" "$PW2"
ok "a wrong current password -> 400, nothing changed" \
	sh -c '[ "$1" = 400 ] && case "$2" in *"current password is not correct"*) exit 0;; esac; exit 1' - \
	"$(status_of c5)" "$(body_of c5)"
ok "... counted and audited (account.password.change_failed)" \
	[ "$(audit_count account.password.change_failed '"username":"gus"')" -eq 1 ]
ok "... the old password still signs in" can_sign_in gus "$PW1"
: # the throttle: wrong current passwords count like wrong sign-ins
i=0
while [ $i -lt 6 ]; do
	change c6 "$JA" "wrong-$i" "$PW2" "$PW2"
	[ "$(status_of c6)" = 429 ] && break
	i=$((i + 1))
done
ok "repeated wrong current passwords -> 429 (the sign-in throttle)" eq "$(status_of c6)" 429
n_failed=$(audit_count account.password.change_failed)
change c7 "$JA" "$PW1" "$PW2" "$PW2"
ok "... then even the right one is refused before it is checked (429, not counted)" \
	sh -c '[ "$1" = 429 ] && [ "$2" = "$3" ]' - "$(status_of c7)" "$n_failed" \
	"$(audit_count account.password.change_failed)"
ok "... and nothing changed" [ "$(audit_count account.password.change)" -eq 0 ]

# ---- success, with and without signing out the other sessions (ivy) -------------
JC=jc JD=jd JE=je
three() { signin "$JC" ivy "$PWI" && signin "$JD" ivy "$PWI" && signin "$JE" ivy "$PWI"; }
ok "ivy signs in three times (three browsers)" three
PWI2=$(newpw)
change s1 "$JC" "$PWI" "$PWI2" "$PWI2"
ok "the right current password and a good new one -> 200, the page says so" \
	sh -c '[ "$1" = 200 ] && case "$2" in *"Your password was changed."*) exit 0;; esac; exit 1' - \
	"$(status_of s1)" "$(body_of s1)"
ok "... audited (account.password.change)" \
	[ "$(audit_count account.password.change '"username":"ivy"')" -eq 1 ]
ok "... shown as a security event" has "$(body_of s1)" "Your password was changed on"
ok "... the new password signs in" can_sign_in ivy "$PWI2"
ok "... the old one no longer does" cannot_sign_in ivy "$PWI"
req s1d -b "$T/$JD" -c "$T/$JD" -H "$EN" "$I/account"
ok "... not asked: the other sessions stay signed in" eq "$(status_of s1d)" 200
signin "$JC" ivy "$PWI2" >/dev/null
PWI3=$(newpw)
change s2 "$JC" "$PWI2" "$PWI3" "$PWI3" -d signout_others=1
ok "with 'sign out my other sessions' -> 200, the page says so" \
	sh -c '[ "$1" = 200 ] && case "$2" in *"other sessions were signed out"*) exit 0;; esac; exit 1' - \
	"$(status_of s2)" "$(body_of s2)"
req s2d -b "$T/$JD" -c "$T/$JD" -H "$EN" "$I/account"
req s2e -b "$T/$JE" -c "$T/$JE" -H "$EN" "$I/account"
ok "... the other two browsers must sign in again (303 to the sign-in page)" \
	sh -c '[ "$1" = 303 ] && [ "$2" = 303 ]' - "$(status_of s2d)" "$(status_of s2e)"
req s2c -b "$T/$JC" -c "$T/$JC" -H "$EN" "$I/account"
ok "... this browser stays signed in" eq "$(status_of s2c)" 200
ok "... both changes audited" [ "$(audit_count account.password.change '"username":"ivy"')" -eq 2 ]

if [ "$tap_failed" -ne 0 ]; then
	diag "---- last 30 lines of this authd's log ----"
	tail -n 30 "$T/authd.log" | sed 's/^/# /'
fi
tap_end
