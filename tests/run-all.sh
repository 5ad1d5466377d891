#!/bin/sh
# make test: unit tests, the same under ASan+UBSan, then the integration suite
# against a real daemon. Each part prints its own cmocka/TAP lines; the last line
# is the total "N passed, N failed" over the parts.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
pass=0; fail=0
part() {
	name=$1; shift
	echo "######## $name"
	if "$@"; then pass=$((pass + 1)); echo "######## $name: ok"
	else fail=$((fail + 1)); echo "######## $name: FAILED"; fi
}
part "unit tests" sh tests/run-unit.sh "$build"
part "unit tests under ASan+UBSan" make --no-print-directory test-asan
part "integration tests" sh tests/integration/run.sh "$build"
part "end-to-end tests in Chromium" sh tests/e2e/run.sh "$build"
part "attack suite and hardening" sh tests/security/run.sh "$build"
part "integration tests under ASan+UBSan, daemon leak check" make --no-print-directory test-integration-asan
part "crash safety (SIGKILL under load)" sh tests/crash/run.sh "$build"
part "slow and idle clients" sh tests/soak/slow.sh "$build"
# Long mode (make test LONG=1, or make test-long): each fuzz target for 60 s
# and the soak; too slow for CI's 30 minutes on 2 cores.
if [ "${LONG:-0}" = 1 ]; then
	part "fuzz smoke (60 s per target)" make --no-print-directory fuzz-smoke
	part "soak (${SOAK_SECONDS:-600} s at 70% of the maximum)" \
		make --no-print-directory soak BUILD="$build"
fi
# PostgreSQL (its own throwaway clusters as an unprivileged user), HAProxy: the store's
# operations on both engines, migrations, and the primary/standby failover harness.
part "PostgreSQL store and failover harness (tests/ha)" sh -c \
	'rc=0; for t in tests/ha/*.test.sh; do sh "$t" "$1" || rc=1; done; exit $rc' ha "$build"
part "PAM tests (pam_wrapper, pamtester, sshd)" sh -c "make --no-print-directory BUILD=\"\$1\" pam && sh tests/pam/run.sh \"\$1\"" pam "$build"
echo "test parts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
