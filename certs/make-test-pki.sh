#!/bin/sh
# certs/make-test-pki.sh — a look-alike of Taiwan's citizen-certificate PKI for
# tests (never for production): a GRCA-like root, two MOICA-like issuing CAs
# with the SAME subject DN and different keys (G2 RSA-2048, G3 RSA-4096), citizen
# certificates carrying subjectDirectoryAttributes (OID 2.16.886.1.100.2.51),
# an AIA OCSP URL and a CDP URL on loopback, the test policy OID and keyUsage
# digitalSignature; a revoked one, an expired one, one from an unrelated CA that
# copies the MOICA DN; OCSP responder certificates; index files for
# `openssl ocsp` and the CRLs (DER).
#
#   certs/make-test-pki.sh OUTDIR [OCSP_PORT [CRL_PORT [OCSP3_PORT]]]
#
# OCSP for G2 is at http://127.0.0.1:OCSP_PORT/, for G3 at OCSP3_PORT (default
# OCSP_PORT+1); the CRLs
# at http://127.0.0.1:CRL_PORT/g2.crl and /g3.crl. Idempotent: an OUTDIR made
# with the same ports is kept; with other ports the certificates are made again
# but the keys are reused (RSA-4096 key generation is the slow part).
set -eu

out=${1:?usage: make-test-pki.sh OUTDIR [OCSP_PORT [CRL_PORT]]}
ocsp_port=${2:-18888}
crl_port=${3:-18880}
ocsp3_port=${4:-$((ocsp_port + 1))}
stamp="$ocsp_port $crl_port $ocsp3_port"

if [ -f "$out/.done" ] && [ "$(cat "$out/.done")" = "$stamp" ]; then
	exit 0
fi
mkdir -p "$out"
chmod 700 "$out"
cd "$out"
rm -f ./*.crt ./*.csr ./*.crl ./*.pem ./*-index.txt* ./*-serial* ./*-crlnumber* ./*.cnf .done
rm -rf newcerts && mkdir newcerts

# The MOICA certificate policy OID used by the test PKI (operators configure the
# real one from the MOICA CP in [x509] policy_oids).
POLICY=2.16.886.101.0.3.2
MOICA_DN="/C=TW/O=行政院/OU=內政部憑證管理中心"
GRCA_DN="/C=TW/O=行政院/OU=政府憑證管理中心"

key() { # FILE BITS
	[ -s "$1" ] && return 0
	openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$1" 2>/dev/null
	chmod 600 "$1"
}

cat > ext.cnf <<EOF
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = 2.5.29.32.0
[ocsp]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# ---- the root and the two issuing CAs (same DN, different keys)
key root.key 2048
openssl req -new -x509 -utf8 -key root.key -subj "$GRCA_DN" -days 3650 -sha256 -out root.crt \
	-addext "keyUsage=critical,keyCertSign,cRLSign"
inter() { # NAME BITS
	key "$1.key" "$2"
	openssl req -new -utf8 -key "$1.key" -subj "$MOICA_DN" -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA root.crt -CAkey root.key -set_serial "0x$(openssl rand -hex 8)" \
		-days 3000 -sha256 -extfile ext.cnf -extensions inter -out "$1.crt" 2>/dev/null
}
inter g2 2048
inter g3 4096
cat root.crt > anchors.pem
cat g2.crt g3.crt > intermediates.pem

# ---- an unrelated CA that copies the MOICA DN (a forged issuer)
key evil.key 2048
openssl req -new -x509 -utf8 -key evil.key -subj "$MOICA_DN" -days 3000 -sha256 -out evil.crt \
	-addext "keyUsage=critical,keyCertSign,cRLSign"

# ---- one `openssl ca` database per issuing CA
ca_cnf() { # NAME OCSPPORT
	cat > "$1.cnf" <<EOF
[ca]
default_ca = ca_$1
[ca_$1]
dir = .
database = ./$1-index.txt
new_certs_dir = ./newcerts
serial = ./$1-serial
crlnumber = ./$1-crlnumber
certificate = ./$1.crt
private_key = ./$1.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = any
unique_subject = no
copy_extensions = none
preserve = yes
utf8 = yes
string_mask = utf8only
[any]
commonName = supplied
countryName = optional
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = $POLICY
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$2/
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/$1.crl
2.5.29.9 = ASN1:SEQUENCE:sda
[sda]
attr = SEQUENCE:sda_attr
[sda_attr]
type = OID:2.16.886.1.100.2.51
vals = SET:sda_vals
[sda_vals]
v = PRINTABLESTRING:\${ENV::TW_ID}
EOF
	: > "$1-index.txt"
	echo "unique_subject = no" > "$1-index.txt.attr"
	openssl rand -hex 8 > "$1-serial"
	echo 01 > "$1-crlnumber"
}
ca_cnf g2 "$ocsp_port"
ca_cnf g3 "$ocsp3_port"
# The forged CA's leaves look exactly like real ones.
sed -e 's/g2/evil/g' g2.cnf > evil.cnf
: > evil-index.txt
echo "unique_subject = no" > evil-index.txt.attr
openssl rand -hex 8 > evil-serial

leaf() { # NAME CA CN ID [extra ca args]
	n=$1; ca=$2; cn=$3; id=$4
	shift 4
	key "$n.key" 2048
	openssl req -new -utf8 -key "$n.key" -subj "/C=TW/CN=$cn" -out "$n.csr"
	TW_ID=$id openssl ca -batch -notext -config "$ca.cnf" -extensions leaf -in "$n.csr" \
		-out "$n.crt" "$@" 2>/dev/null
}
leaf good-g2 g2 王小明 A123456789
leaf good-g3 g3 陳美麗 B287654321
leaf revoked g2 林大同 C112223333
leaf revoked2 g2 張三 D198765432
leaf expired g2 李四 E123450000 -startdate 20200101000000Z -enddate 20210101000000Z
leaf other evil 王小明 A123456789

# ---- OCSP responders (delegated, EKU OCSPSigning) and revocations
for ca in g2 g3; do
	key "ocsp-$ca.key" 2048
	openssl req -new -utf8 -key "ocsp-$ca.key" -subj "/C=TW/CN=MOICA OCSP $ca" -out "ocsp-$ca.csr"
	openssl x509 -req -in "ocsp-$ca.csr" -CA "$ca.crt" -CAkey "$ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 365 -sha256 -extfile ext.cnf -extensions ocsp \
		-out "ocsp-$ca.crt" 2>/dev/null
done
TW_ID=x openssl ca -config g2.cnf -revoke revoked.crt -crl_reason keyCompromise 2>/dev/null
TW_ID=x openssl ca -config g2.cnf -revoke revoked2.crt -crl_reason keyCompromise 2>/dev/null
for ca in g2 g3; do
	TW_ID=x openssl ca -config "$ca.cnf" -gencrl -out "$ca.crl.pem" 2>/dev/null
	openssl crl -in "$ca.crl.pem" -outform DER -out "$ca.crl"
done
# All citizen certificates in one file each (PEM), for authctl and curl.
rm -f ./*.csr
echo "$stamp" > .done
