#!/bin/sh
# certs/make-test-pki.sh — a look-alike of Taiwan's citizen-certificate PKI for
# tests (never for production): a GRCA-like root, two MOICA-like issuing CAs
# with the SAME subject DN and different keys (G2 RSA-2048, G3 RSA-4096), citizen
# certificates carrying subjectDirectoryAttributes (OID 2.16.886.1.100.2.51),
# an AIA OCSP URL and a CDP URL on loopback, MOICA's policy OID
# (2.16.886.101.0.3.3) and keyUsage digitalSignature; one with another GPKI
# policy (other-policy, class 1 .3.1); a revoked one, an expired one, one from an unrelated CA that
# copies the MOICA DN; OCSP responder certificates; index files for
# `openssl ocsp` and the CRLs (DER).
#
# MOICA publishes partitioned CRLs, so G2 also has two partitions: cards whose
# CDP is /g2-part1.crl (good, revoked, revoked after the base CRL, and one with
# one CDP distribution point with two URLs: /g2-part1-mirror.crl then
# /g2-part1.crl) or /g2-part2.crl. Each
# partition CRL carries an issuingDistributionPoint naming its URLs
# (onlyContainsUserCerts); part 1 has a delta CRL (deltaCRLIndicator, named by
# the base's freshestCRL). Beside them, CRLs an on-path attacker could replay at
# part 1's URL, all genuinely signed by G2: part 1's scope with
# onlyContainsCACerts, with indirectCRL, with onlySomeReasons keyCompromise,
# and an older part 1 CRL (from before its revocations, still current).
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
# The layout version is part of the stamp: an OUTDIR made by an older version
# of this script is made again. So is one older than 2 days (its CRLs are
# current for 7 days).
stamp="v4 $ocsp_port $crl_port $ocsp3_port"

# Runs of the test suites in parallel share an OUTDIR: one makes it, the others
# wait and then find it made.
mkdir -p "$out"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out.lock"
	flock 9
fi
if [ -f "$out/.done" ] && [ "$(cat "$out/.done")" = "$stamp" ] &&
	[ -z "$(find "$out/.done" -mmin +2880 2>/dev/null)" ]; then
	exit 0
fi
mkdir -p "$out"
chmod 700 "$out"
cd "$out"
rm -f ./*.crt ./*.csr ./*.crl ./*.pem ./*-index.txt* ./*-serial* ./*-crlnumber* ./*.cnf .done
rm -rf newcerts && mkdir newcerts

# The MOICA certificate policy: GPKI class 3 assurance, 2.16.886.101.0.3.3 (the
# MOICA FAQ), authd's default [x509] policy_oids. (Versions before v4 of this
# script used .3.2, which is not MOICA's: copied into production it refused
# every real card.) OTHER_POLICY is GPKI class 1, for a card authd must refuse.
POLICY=2.16.886.101.0.3.3
OTHER_POLICY=2.16.886.101.0.3.1
MOICA_DN="/C=TW/O=行政院/OU=內政部憑證管理中心"
GRCA_DN="/C=TW/O=行政院/OU=政府憑證管理中心"

# The delta CRL section names its base CRL number through the environment;
# every `openssl ca` run loads the configuration, so it is always set.
BASE_CRL=0
export BASE_CRL

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
[leaf_other_policy]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = $OTHER_POLICY
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$2/
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/$1.crl
2.5.29.9 = ASN1:SEQUENCE:sda
[leaf_part1]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = $POLICY
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$2/
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/$1-part1.crl
2.5.29.9 = ASN1:SEQUENCE:sda
[leaf_part1_mirror]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = $POLICY
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$2/
crlDistributionPoints = cdp_part1_mirror
2.5.29.9 = ASN1:SEQUENCE:sda
[cdp_part1_mirror]
fullname = URI:http://127.0.0.1:$crl_port/$1-part1-mirror.crl, URI:http://127.0.0.1:$crl_port/$1-part1.crl
[leaf_part2]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = $POLICY
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$2/
crlDistributionPoints = URI:http://127.0.0.1:$crl_port/$1-part2.crl
2.5.29.9 = ASN1:SEQUENCE:sda
[idp_part1]
fullname = URI:http://127.0.0.1:$crl_port/$1-part1.crl, URI:http://127.0.0.1:$crl_port/$1-part1-mirror.crl
onlyuser = TRUE
[idp_part2]
fullname = URI:http://127.0.0.1:$crl_port/$1-part2.crl
onlyuser = TRUE
[idp_part1_ca]
fullname = URI:http://127.0.0.1:$crl_port/$1-part1.crl, URI:http://127.0.0.1:$crl_port/$1-part1-mirror.crl
onlyCA = TRUE
[idp_part1_indirect]
fullname = URI:http://127.0.0.1:$crl_port/$1-part1.crl, URI:http://127.0.0.1:$crl_port/$1-part1-mirror.crl
onlyuser = TRUE
indirectCRL = TRUE
[idp_part1_reasons]
fullname = URI:http://127.0.0.1:$crl_port/$1-part1.crl, URI:http://127.0.0.1:$crl_port/$1-part1-mirror.crl
onlyuser = TRUE
onlysomereasons = keyCompromise
[crl_part1]
authorityKeyIdentifier = keyid
issuingDistributionPoint = critical,@idp_part1
freshestCRL = URI:http://127.0.0.1:$crl_port/$1-part1-delta.crl
[crl_part2]
authorityKeyIdentifier = keyid
issuingDistributionPoint = critical,@idp_part2
[crl_part1_ca]
authorityKeyIdentifier = keyid
issuingDistributionPoint = critical,@idp_part1_ca
[crl_part1_indirect]
authorityKeyIdentifier = keyid
issuingDistributionPoint = critical,@idp_part1_indirect
[crl_part1_reasons]
authorityKeyIdentifier = keyid
issuingDistributionPoint = critical,@idp_part1_reasons
[crl_part1_delta]
authorityKeyIdentifier = keyid
issuingDistributionPoint = critical,@idp_part1
2.5.29.27 = critical,ASN1:INTEGER:\${ENV::BASE_CRL}
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
	TW_ID=$id openssl ca -batch -notext -config "$ca.cnf" -extensions "${LEAF_EXT:-leaf}" \
		-in "$n.csr" -out "$n.crt" "$@" 2>/dev/null
}
leaf good-g2 g2 王小明 A123456789
leaf good-g3 g3 陳美麗 B287654321
leaf revoked g2 林大同 C112223333
leaf revoked2 g2 張三 D198765432
leaf expired g2 李四 E123450000 -startdate 20200101000000Z -enddate 20210101000000Z
leaf other evil 王小明 A123456789
LEAF_EXT=leaf_other_policy leaf other-policy g2 吳七 H123456786
LEAF_EXT=leaf_part1 leaf part1-good g2 趙一 F123456781
LEAF_EXT=leaf_part1 leaf part1-revoked g2 錢二 F223456782
LEAF_EXT=leaf_part1 leaf part1-late g2 孫三 F123456783
LEAF_EXT=leaf_part1_mirror leaf part1-mirror g2 李五 F223456784
LEAF_EXT=leaf_part2 leaf part2-good g2 周六 G123456785

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

# ---- G2's partitions. Every card stays in g2-index.txt (OCSP and the complete
# g2.crl cover them all); a partition CRL is made from a database holding only
# that partition's lines, with the partition's issuingDistributionPoint.
# crl_db NAME [CARD...]: NAME.cnf, a copy of g2.cnf whose database has the
# current g2-index.txt lines of those cards (same key, same CRL number file).
crl_db() {
	db=$1
	shift
	sed -e "s|^database = .*|database = ./$db-index.txt|" g2.cnf > "$db.cnf"
	: > "$db-index.txt"
	echo "unique_subject = no" > "$db-index.txt.attr"
	for c in "$@"; do
		s=$(openssl x509 -in "$c.crt" -noout -serial | sed 's/^serial=//')
		awk -F '\t' -v s="$s" '$4 == s' g2-index.txt >> "$db-index.txt"
	done
}
# gencrl DB EXTSECTION OUT [ca args]: a DER CRL signed by G2.
gencrl() {
	db=$1; ext=$2; o=$3
	shift 3
	TW_ID=x openssl ca -config "$db.cnf" -gencrl -crlexts "$ext" -out "$o.pem" "$@" 2>/dev/null
	openssl crl -in "$o.pem" -outform DER -out "$o"
	rm -f "$o.pem"
}
# Before any revocation in part 1: an old CRL, two hours old, still current.
crl_db g2-empty
gencrl g2-empty crl_part1 g2-part1-old.crl \
	-crl_lastupdate "$(date -u -d '-2 hours' +%Y%m%d%H%M%SZ)" \
	-crl_nextupdate "$(date -u -d '+6 days' +%Y%m%d%H%M%SZ)"
TW_ID=x openssl ca -config g2.cnf -revoke part1-revoked.crt -crl_reason superseded 2>/dev/null
TW_ID=x openssl ca -config g2.cnf -revoke part1-mirror.crt -crl_reason keyCompromise 2>/dev/null
crl_db g2-part1 part1-good part1-revoked part1-late part1-mirror
BASE_CRL=0x$(cat g2-crlnumber)
export BASE_CRL
gencrl g2-part1 crl_part1 g2-part1.crl
crl_db g2-part2 part2-good
gencrl g2-part2 crl_part2 g2-part2.crl
# The same scope as part 1 but for CA certificates only / indirect / some reasons
# only: genuine, current, and listing none of the part 1 cards.
gencrl g2-empty crl_part1_ca g2-part1-onlyca.crl
gencrl g2-empty crl_part1_indirect g2-part1-indirect.crl
gencrl g2-empty crl_part1_reasons g2-part1-reasons.crl
# part1-late is revoked after the base CRL: only the delta lists it.
TW_ID=x openssl ca -config g2.cnf -revoke part1-late.crt -crl_reason keyCompromise 2>/dev/null
crl_db g2-part1-delta part1-late
gencrl g2-part1-delta crl_part1_delta g2-part1-delta.crl
rm -f g2-empty* g2-part2-index* g2-part1-delta-index* g2-part2.cnf g2-part1-delta.cnf

for ca in g2 g3; do
	TW_ID=x openssl ca -config "$ca.cnf" -gencrl -out "$ca.crl.pem" 2>/dev/null
	openssl crl -in "$ca.crl.pem" -outform DER -out "$ca.crl"
done
# All citizen certificates in one file each (PEM), for authctl and curl.
rm -f ./*.csr
echo "$stamp" > .done
