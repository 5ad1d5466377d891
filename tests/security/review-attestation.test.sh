#!/bin/sh
# tests/security/review-attestation.test.sh BUILD — issue 11, item 3: "a software
# authenticator is taken for verified hardware and reaches AAL3", against
# run.sh's authd (its [webauthn] trusts the test vendor root of attest-pki.sh,
# loads a test FIDO MDS BLOB and denies one AAGUID). A software authenticator
# (attest.mjs) registers keys through the account page as a person would and
# signs in usernameless through /authorize; the ID token, the account page and
# authctl must agree on what each key is:
#   - a packed statement with a self-signed certificate shaped like Chromium's
#     virtual authenticator's: a passkey (swk), acr aal2, never verified hardware;
#   - a statement from the trusted test root: verified hardware, acr aal3;
#   - a model the MDS BLOB lists with its root: hardware; a model it reports
#     REVOKED: a passkey; a synced (backup-eligible) key from the trusted root:
#     a passkey;
#   - an AAGUID on denied_aaguids: refused with a clear message, nothing stored;
#   - an MDS BLOB with a bad signature or past its nextUpdate: authd
#     --check-config refuses the configuration, naming the reason.
# TAP output.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/integration/lib.sh"

for v in AUTHD_ISSUER AUTHD_CA AUTHD_CONF AUTHD_DATA AUTHD_BIN AUTHCTL_BIN AUTHD_ATTEST \
	AUTHD_DENIED_AAGUID AUTHD_RP AUTHD_RP_SECRET AUTHD_RP_REDIRECT AUTHD_RP3 AUTHD_RP3_SECRET \
	AUTHD_RP3_REDIRECT; do
	eval "[ -n \"\${$v:-}\" ]" || { echo "Bail out! $v is not set (run via run.sh)"; exit 1; }
done
T=${AUTHD_WORK:-$(mktemp -d)}
A=$AUTHD_ATTEST
export NODE_EXTRA_CA_CERTS="$AUTHD_CA"
ctl() { "$AUTHCTL_BIN" -c "$AUTHD_CONF" "$@"; }
att() { node "$here/attest.mjs" "$@"; }
newpw() { openssl rand 18 | openssl base64 -A | tr '+/' 'xy'; }
# j FILE EXPR: a field of a JSON file (as "j").
j() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const v = eval(process.argv[2]); console.log(typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"; }

# person NAME: a user with only a password (so an AAL1 session may add a key).
person() {
	PW=$(newpw)
	printf '%s\n' "$PW" | ctl user add "$1" --password-stdin >"$T/user-$1.log" 2>&1 ||
		{ echo "Bail out! authctl user add $1: $(cat "$T/user-$1.log")"; exit 1; }
}

# enrol NAME SPEC-JSON: registers a key for NAME; the answer in $T/NAME.reg,
# the credential in $T/NAME.cred.
enrol() {
	printf '%s\n' "$2" >"$T/$1.spec"
	att register "$1" "$PW" "$T/$1.spec" "$T/$1.cred" >"$T/$1.reg" 2>"$T/$1.err" ||
		{ diag "attest.mjs register: $(tail -n 3 "$T/$1.err")"; echo '{}' >"$T/$1.reg"; }
}

# signin NAME CLIENT SECRET REDIRECT: usernameless sign-in with NAME's key; $T/NAME.CLIENT.in
signin() {
	att signin "$T/$1.cred" "$2" "$3" "$4" >"$T/$1.$2.in" 2>"$T/$1.$2.err" ||
		{ diag "attest.mjs signin: $(tail -n 3 "$T/$1.$2.err")"; echo '{}' >"$T/$1.$2.in"; }
}

listed() { ctl webauthn list "$1" 2>&1 | head -n 1; }
# keys_stored: the number of key records and key index entries in the store
# (the person's user handle, made when a registration begins, is not a key).
keys_stored() {
	echo "$(mdb_dump -p -s credentials "$AUTHD_DATA" | grep -c '/webauthn/') $(mdb_dump -p -s \
		credential_index "$AUTHD_DATA" | grep -c '^ webauthn/')"
}
last_audit() { ctl audit show --last "${2:-5}" | grep "\"event\":\"$1\"" | tail -n 1; }

CHROMIUM_AAGUID=01020304050607080102030405060708
VENDOR_AAGUID=5e55a11c5e55a11c5e55a11c5e55a101

# ---- 1. Chromium's self-signed batch certificate: a passkey, AAL2 at most -------
person wa-chromium
enrol wa-chromium "{\"fmt\":\"packed\",\"attKey\":\"$A/chromium.key\",
	\"chain\":[\"$A/chromium.pem\"],\"aaguid\":\"$CHROMIUM_AAGUID\",\"uv\":true,\"name\":\"Chromium\"}"
ok "self-signed packed statement: the registration is accepted" \
	eq "$(j "$T/wa-chromium.reg" 'j.status')" 303
list=$(j "$T/wa-chromium.reg" 'j.list')
ok "the account page lists it as a passkey" has "$list" "Passkey"
ok "and not as verified hardware" hasnt "$list" "verified hardware"
ok "and says why: its attestation does not chain to a trusted root" \
	has "$list" "does not chain to a root this service trusts"
signin wa-chromium "$AUTHD_RP" "$AUTHD_RP_SECRET" "$AUTHD_RP_REDIRECT"
ok "usernameless sign-in with it: acr is aal2, not aal3" \
	eq "$(j "$T/wa-chromium.$AUTHD_RP.in" 'j.acr')" aal2
amr=$(j "$T/wa-chromium.$AUTHD_RP.in" 'j.amr')
ok "amr says swk (a passkey), with the user verification" has "$amr" '"swk"'
ok "amr does not say hwk" hasnt "$amr" '"hwk"'
signin wa-chromium "$AUTHD_RP3" "$AUTHD_RP3_SECRET" "$AUTHD_RP3_REDIRECT"
ok "an AAL3 app gets no code: the unmet-level page, with the way back saying unmet_authentication_requirements" \
	eq "$(j "$T/wa-chromium.$AUTHD_RP3.in" 'j.status + " " + j.unmet')" "403 true"
l=$(listed wa-chromium)
ok "authctl webauthn list: hardware false, trust nochain" \
	has "$l" '"hardware":false,"trust":"nochain"'
ok "the registration is audited with the verdict" \
	has "$(last_audit account.webauthn.add 20)" '"reason":"packed, passkey (nochain)"'

# ---- 2. a statement from the trusted test root: verified hardware, AAL3 --------
person wa-trusted
enrol wa-trusted "{\"fmt\":\"packed\",\"attKey\":\"$A/vendor.key\",\"chain\":[\"$A/vendor.pem\"],
	\"aaguid\":\"$VENDOR_AAGUID\",\"uv\":true,\"name\":\"Office key\"}"
ok "trusted root: the registration is accepted" eq "$(j "$T/wa-trusted.reg" 'j.status')" 303
ok "the account page says verified hardware" \
	has "$(j "$T/wa-trusted.reg" 'j.list')" "Security key (verified hardware)"
signin wa-trusted "$AUTHD_RP3" "$AUTHD_RP3_SECRET" "$AUTHD_RP3_REDIRECT"
ok "usernameless sign-in to the AAL3 app: acr aal3" \
	eq "$(j "$T/wa-trusted.$AUTHD_RP3.in" 'j.acr')" aal3
ok "amr says hwk" has "$(j "$T/wa-trusted.$AUTHD_RP3.in" 'j.amr')" '"hwk"'
ok "authctl webauthn list: hardware true, trust root" \
	has "$(listed wa-trusted)" '"hardware":true,"trust":"root"'

# ---- 3. the FIDO MDS: a listed model is hardware; a revoked one is not ------------
person wa-mds
enrol wa-mds "{\"fmt\":\"packed\",\"attKey\":\"$A/mds-model.key\",\"chain\":[\"$A/mds-model.pem\"],
	\"aaguid\":\"5e55a11c5e55a11c5e55a11c5e55a103\",\"uv\":true}"
signin wa-mds "$AUTHD_RP3" "$AUTHD_RP3_SECRET" "$AUTHD_RP3_REDIRECT"
ok "a model the MDS BLOB lists with its root: acr aal3" eq "$(j "$T/wa-mds.$AUTHD_RP3.in" 'j.acr')" aal3
ok "authctl says why: trust mds" has "$(listed wa-mds)" '"trust":"mds"'
person wa-revoked
enrol wa-revoked "{\"fmt\":\"packed\",\"attKey\":\"$A/mds-revoked.key\",
	\"chain\":[\"$A/mds-revoked.pem\"],\"aaguid\":\"5e55a11c5e55a11c5e55a11c5e55a104\",\"uv\":true}"
ok "a model the MDS reports REVOKED: registered, shown as a passkey with the reason" \
	has "$(j "$T/wa-revoked.reg" 'j.list')" "reports a security problem with this model"
signin wa-revoked "$AUTHD_RP" "$AUTHD_RP_SECRET" "$AUTHD_RP_REDIRECT"
ok "and signs in at aal2 only" eq "$(j "$T/wa-revoked.$AUTHD_RP.in" 'j.acr')" aal2
ok "authctl: trust mds_status, naming REVOKED" has "$(listed wa-revoked)" 'REVOKED'

# ---- 4. a synced passkey (BE) from the trusted root: never hardware ---------------
person wa-synced
enrol wa-synced "{\"fmt\":\"packed\",\"attKey\":\"$A/vendor.key\",\"chain\":[\"$A/vendor.pem\"],
	\"aaguid\":\"$VENDOR_AAGUID\",\"uv\":true,\"be\":true,\"bs\":true}"
ok "a backup-eligible key is a synced passkey on the account page" \
	has "$(j "$T/wa-synced.reg" 'j.list')" "A synced passkey"
signin wa-synced "$AUTHD_RP" "$AUTHD_RP_SECRET" "$AUTHD_RP_REDIRECT"
ok "and signs in at aal2 with swk" \
	eq "$(j "$T/wa-synced.$AUTHD_RP.in" 'j.acr + " " + j.amr.includes("swk")')" "aal2 true"

# ---- 5. a denied AAGUID: refused with a clear message, nothing stored -------------
person wa-denied
before=$(keys_stored)
enrol wa-denied "{\"fmt\":\"none\",\"aaguid\":\"$AUTHD_DENIED_AAGUID\",\"uv\":true}"
ok "a denied model: the registration is refused (400)" eq "$(j "$T/wa-denied.reg" 'j.status')" 400
ok "with the reason on the page" \
	has "$(j "$T/wa-denied.reg" 'j.text')" "This model of key is not accepted here"
ok "and the account lists no key" eq "$(j "$T/wa-denied.reg" 'j.list')" ""
ok "no key record or key index entry was written" eq "$(keys_stored)" "$before"
ok "the refusal is audited with its reason" \
	has "$(last_audit account.webauthn.refused 5)" '"reason":"this model of key is denied"'

# ---- 6. the MDS BLOB is checked before authd starts ---------------------------------
next=$(node -e 'console.log(new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10))')
past=$(node -e 'console.log(new Date(Date.now() - 3 * 86400e3).toISOString().slice(0, 10))')
att blob "$A/mds-signer.key" "$A/mds-signer.pem" "$A/mds-entries.json" "$next" tamper >"$T/bad-sig.jwt"
att blob "$A/mds-signer.key" "$A/mds-signer.pem" "$A/mds-entries.json" "$past" >"$T/stale.jwt"
# check_with BLOB: authd --check-config on the suite's config with mds_blob = BLOB
check_with() {
	sed "s|^mds_blob = .*|mds_blob = $1|" "$AUTHD_CONF" >"$(dirname "$AUTHD_CONF")/check.conf"
	"$AUTHD_BIN" --check-config -c "$(dirname "$AUTHD_CONF")/check.conf" >"$T/check.out" 2>"$T/check.err"
	echo "$? $(cat "$T/check.out" "$T/check.err")"
}
ok "the suite's own BLOB passes authd --check-config" eq "$(check_with "$A/mds.jwt")" "0 config ok"
r=$(check_with "$T/bad-sig.jwt")
ok "a BLOB with one signature byte changed is refused (exit 1)" eq "${r%% *}" 1
ok "naming the file and the reason" has "$r" "mds_blob $T/bad-sig.jwt refused: its signature does not verify"
r=$(check_with "$T/stale.jwt")
ok "a BLOB past its nextUpdate is refused (exit 1)" eq "${r%% *}" 1
ok "saying it is out of date" has "$r" "it is out of date: its nextUpdate was $past"
rm -f "$(dirname "$AUTHD_CONF")/check.conf"

tap_end
