#!/bin/sh
# scripts/deps.sh [GROUP...] — installs what authd needs, by group (default: build):
#   build  compile and link everything: authd, authctl, client, pam, examples,
#          fuzz targets, unit tests and test programs
#   run    make run (the development certificate)
#   test   make test, make bench, make soak (Debian packages, then `npm ci` of the
#          test clients in tests/integration, pinned by its package-lock.json)
#   fresh  make test-fresh (a Debian 12 root made by debootstrap)
# The Makefile calls it before anything is compiled (see the top of the Makefile).
# Idempotent: packages already installed are not touched; apt-get update runs only
# when something is missing; npm ci only when package-lock.json changed.
#
# A new package is one line in its group below (a comment says what needs it).
set -eu
cd "$(dirname "$0")/.."

group_build() { cat <<'EOF'
build-essential pkg-config       # gcc, make, ar; pkg-config reads every flag in the Makefile
clang libclang-rt-14-dev         # make fuzz (libFuzzer)
clang-format                     # make format-check
libssl-dev libevent-dev libjansson-dev liblmdb-dev libsodium-dev libinih-dev
libcurl4-openssl-dev liboath-dev libqrencode-dev libfido2-dev libcbor-dev
libpam0g-dev                     # pam_authd.so
libcmocka-dev                    # unit tests
libjwt-dev                       # the independent token verifier (tests/integration)
libpamtest0-dev                  # tests/pam
libpq-dev                        # the PostgreSQL store (libpq)
EOF
}
group_run() { cat <<'EOF'
openssl                          # certs/dev-cert.sh
EOF
}
group_test() { group_run; cat <<'EOF'
curl                             # the refusals, readiness waits
ca-certificates                  # npm ci over HTTPS (Debian node uses the system CAs)
nodejs npm                       # npm ci of the test clients (tests/integration), which pins
                                 # their Node 20 too (tests/lib/node.sh): Debian 12's is 18
chromium libnss3-tools           # WebAuthn end to end (tests/e2e), certutil
lmdb-utils                       # mdb_dump: the attack suite reads the store
wrk hyperfine                    # make bench, soak, slow clients
oathtool                         # TOTP codes from outside authd
apache2 libapache2-mod-auth-openidc  # the guide's Apache example (tests/e2e/apache.test.mjs)
libpam-wrapper libnss-wrapper pamtester                   # tests/pam
openssh-server openssh-client expect                      # a real sshd login
python3                          # serves OCSP and CRLs in the x509 suite
python3-cryptography             # the Taiwan services' simulators (tests/sim)
postgresql-15 postgresql-client-15   # throwaway primary + standby (tests/lib/pg.sh)
haproxy                          # the load balancer in front of several nodes (tests/lib/haproxy.sh)
systemd                          # systemd-analyze verify/security of docs/authd.service
groff-base                       # make client-man-check
EOF
}
group_fresh() { cat <<'EOF'
debootstrap                      # the fresh Debian 12 root
curl                             # asks the fresh root's authd for /healthz
EOF
}

[ $# -gt 0 ] || set -- build
want=
for g in "$@"; do
	case $g in
	build|run|test|fresh) want="$want $(group_$g | sed 's/#.*//')" ;;
	*) echo "deps: unknown group '$g' (build, run, test, fresh)" >&2; exit 2 ;;
	esac
done

# One dpkg-query for all: "ii" is a fully installed package.
installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $want 2>/dev/null |
	awk '$1 == "ii" { print $2 }')
missing=
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	echo "$installed" | grep -qx "$p" || missing="$missing $p"
done
# Node may come from elsewhere on a developer machine; accept any node with npm.
case " $missing " in *" nodejs "*|*" npm "*)
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
		missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//')
	fi;;
esac

if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing Debian packages:$missing" >&2
		echo "deps: run as root (or: sudo apt-get install$missing)" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

case " $* " in *" test "*)
	cd tests/integration
	if ! [ node_modules/.package-lock.json -nt package-lock.json ]; then
		echo "deps: npm ci (tests/integration)"
		npm ci --no-audit --no-fund --loglevel=error
	fi;;
esac
