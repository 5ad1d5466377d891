#!/bin/sh
# Installs the Debian packages authd needs to build, run and test. Idempotent:
# packages already present are not touched, and apt-get update runs only when
# something is missing. Used by `make run` and `make test` (see Makefile).
set -eu

PKGS_BUILD="build-essential pkg-config clang libclang-rt-14-dev libssl-dev libevent-dev
  libjansson-dev liblmdb-dev lmdb-utils libsodium-dev libinih-dev libcurl4-openssl-dev
  liboath-dev libqrencode-dev libfido2-dev libcbor-dev libpam0g-dev libpq-dev"
PKGS_TEST="libcmocka-dev libjwt-dev curl openssl nodejs npm wrk hyperfine oathtool
  libpam-wrapper libpamtest0-dev pamtester expect procps
  openssh-server openssh-client libnss-wrapper chromium libnss3-tools python3
  python3-cryptography postgresql-15 postgresql-client-15 haproxy"

want="$PKGS_BUILD"
[ "${1:-}" = "--test" ] && want="$PKGS_BUILD $PKGS_TEST"

missing=""
for p in $want; do
	# dpkg-query prints "install ok installed" only for fully installed packages.
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
# Node may come from elsewhere on a developer machine; accept any node >= 18 with npm.
case " $missing " in *" nodejs "*|*" npm "*)
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
		missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//')
	fi;;
esac

if [ -z "$(echo "$missing" | tr -d ' ')" ]; then
	exit 0
fi
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
