#!/bin/sh
# tests/security/attest-pki.sh DIR — the attestation PKI of the attack suite's
# review-attestation test, made with openssl: a vendor's attestation root and
# its batch certificate (trusted: run.sh lists the root in attestation_roots),
# a self-signed certificate shaped like Chromium's virtual authenticator's
# (trusted by nobody), a "FIDO MDS" root and signer, and a vendor root that
# only the MDS BLOB lists, with a certified and a revoked model. Keys are P-256.
# Prints nothing; exits non-zero when openssl fails.
set -eu
mkdir -p "$1"
d=$(cd "$1" && pwd)
cd "$d"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# ca NAME CN: a self-signed CA
ca() {
	key "$1"
	openssl req -x509 -new -key "$1.key" -subj "/C=TW/O=authd security test/CN=$2" -days 3650 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$1.pem" 2>/dev/null
}

# leaf NAME ISSUER SUBJECT [AAGUID]: an attestation certificate (packed rules:
# C, O, OU=Authenticator Attestation, CN; CA:FALSE; the AAGUID extension)
serial=10
leaf() {
	key "$1"
	serial=$((serial + 1))
	printf 'basicConstraints=critical,CA:FALSE\n' >"$1.ext"
	if [ -n "${4:-}" ]; then
		printf '1.3.6.1.4.1.45724.1.1.4=DER:04:10:%s\n' \
			"$(printf '%s' "$4" | sed 's/../&:/g; s/:$//')" >>"$1.ext"
	fi
	openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$serial" -days 3650 \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null
}

ca vendor-root "Test Vendor Attestation Root"
leaf vendor "vendor-root" "/C=TW/O=Test Vendor/OU=Authenticator Attestation/CN=Test Key Series 1" \
	5e55a11c5e55a11c5e55a11c5e55a101
# Chromium's virtual authenticator: a self-signed "batch" certificate
key chromium
openssl req -x509 -new -key chromium.key -days 3650 \
	-subj "/C=US/O=Chromium/OU=Authenticator Attestation/CN=Batch Certificate" \
	-addext basicConstraints=critical,CA:FALSE -out chromium.pem 2>/dev/null
# the FIDO MDS: its root, the BLOB's signer, and a vendor only the BLOB lists
ca mds-root "Test FIDO MDS Root"
key mds-signer
openssl req -new -key mds-signer.key -subj "/C=US/O=Test FIDO Alliance/CN=mds.test" \
	-out mds-signer.csr 2>/dev/null
openssl x509 -req -in mds-signer.csr -CA mds-root.pem -CAkey mds-root.key -set_serial 3 \
	-days 3650 -out mds-signer.pem 2>/dev/null
ca mds-vendor-root "Test MDS-listed Vendor Root"
leaf mds-model "mds-vendor-root" "/C=TW/O=MDS Vendor/OU=Authenticator Attestation/CN=Certified" \
	5e55a11c5e55a11c5e55a11c5e55a103
leaf mds-revoked "mds-vendor-root" "/C=TW/O=MDS Vendor/OU=Authenticator Attestation/CN=Revoked" \
	5e55a11c5e55a11c5e55a11c5e55a104
cat >mds-entries.json <<JSON
[{"aaguid": "5e55a11c5e55a11c5e55a11c5e55a103", "root": "$d/mds-vendor-root.pem",
  "description": "Test Certified Key"},
 {"aaguid": "5e55a11c5e55a11c5e55a11c5e55a104", "root": "$d/mds-vendor-root.pem",
  "description": "Test Revoked Key", "status": "REVOKED"}]
JSON
