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
part "attack suite and hardening" sh tests/security/run.sh "$build"
part "PAM tests (pam_wrapper, pamtester, sshd)" sh -c "make --no-print-directory BUILD=\"\$1\" pam && sh tests/pam/run.sh \"\$1\"" pam "$build"
echo "test parts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
