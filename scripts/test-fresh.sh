#!/bin/sh
# scripts/test-fresh.sh — `make test-fresh`: the README's two commands on a fresh
# Debian 12, as a new engineer (or CI) would run them. As root:
#   1. a minimal Debian 12 (bookworm) root from debootstrap: the base system, git
#      and make, with the sources and /etc/hosts a Debian installation has. The
#      debootstrap result is cached as a tarball in build-fresh/ and every run
#      unpacks a pristine copy of it;
#   2. a `git clone` of HEAD at /work/authd in it, ../shared beside it (as CI has it);
#   3. inside it (chroot, in new mount, PID, IPC and UTS namespaces, with /proc,
#      /dev, /dev/pts, /dev/shm, /sys, a tmpfs /tmp, resolv.conf; root; CI=true, no
#      terminal, no stdin):
#        make run     until https://localhost:8443/healthz answers with the dev CA
#                     and the banner is printed, then Ctrl-C (SIGINT);
#        make test    to the end;
#        make install then the installed authctl finds the installed data files;
#      each bounded in time; their wall times and last lines are printed.
# Mounts live only in the private namespace: they vanish with it on success,
# failure, timeout or Ctrl-C. Logs stay in build-fresh/*.log; the root is removed.
#
# Knobs: FRESH_DIR (build-fresh), FRESH_MIRROR (http://deb.debian.org/debian),
# FRESH_RUN_TIMEOUT (1800 s), FRESH_TEST_TIMEOUT (3600 s), FRESH_KEEP=1 keeps the
# root for a look afterwards. Uncommitted changes are not tested: the clone is HEAD.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
top=${FRESH_DIR:-$here/build-fresh}
root=$top/root
suite=bookworm

say() { echo "test-fresh: $*"; }
die() { echo "test-fresh: $*" >&2; exit 1; }
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
# The host's mounts under the fresh root: none, unless something escaped the
# namespace (then nothing here may delete it).
mounts_under() { awk -v p="$1" 'index($5, p "/") == 1 || $5 == p' /proc/self/mountinfo; }

# ---- inside the namespace: PID 1 of a new PID namespace, own mounts -------------
if [ "${1:-}" = --inside ]; then
	# Ctrl-C, a timeout or the end: PID 1 leaving ends every process in the namespace
	# and the kernel drops its mounts.
	trap 'exit 130' INT TERM HUP
	mount --make-rprivate /
	mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
	mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys" 2>/dev/null ||
		mount --rbind -o ro /sys "$root/sys"
	mount -t tmpfs -o mode=755,nosuid dev "$root/dev"
	for d in null zero full random urandom tty; do
		touch "$root/dev/$d"
		mount --bind "/dev/$d" "$root/dev/$d"
	done
	mkdir -p "$root/dev/pts" "$root/dev/shm"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=620,nosuid,noexec devpts "$root/dev/pts"
	ln -s pts/ptmx "$root/dev/ptmx"
	mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
	ln -s /proc/self/fd "$root/dev/fd"
	ln -s /proc/self/fd/0 "$root/dev/stdin"
	ln -s /proc/self/fd/1 "$root/dev/stdout"
	ln -s /proc/self/fd/2 "$root/dev/stderr"
	mount -t tmpfs -o mode=1777,nosuid,nodev,size=8g tmp "$root/tmp"

	# in_root LOG COMMAND &: COMMAND by sh in the checkout inside the root, as CI
	# runs it: root, a clean environment, CI=true, no terminal (own session), no
	# stdin, and SIGINT and SIGQUIT back to their defaults (sh ignores them in what
	# it starts with &). Always started with &: the background subshell becomes
	# setsid, chroot, env, sh and (exec) COMMAND in turn, so $! is COMMAND and,
	# since setsid needs no fork in a process that leads no group, its group too.
	in_root() {
		_log=$1
		shift
		exec setsid chroot "$root" /usr/bin/env -i --default-signal=INT,QUIT \
			HOME=/root USER=root LOGNAME=root \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CI=true \
			${FRESH_CA:+NODE_EXTRA_CA_CERTS=$FRESH_CA} \
			${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} \
			${no_proxy:+no_proxy=$no_proxy} \
			sh -c "cd /work/authd && $*" </dev/null >"$_log" 2>&1
	}
	tail_of() { echo "---- last lines of $1 ----"; tail -n "${2:-15}" "$1"; echo "----"; }
	ca=$root/work/authd/dev/tls/ca.crt
	banner="== authd development instance =="
	rc=0

	# -- make run: until /healthz answers and the banner is out, then SIGINT --
	say "make run (limit ${FRESH_RUN_TIMEOUT:-1800} s; log $top/run.log)"
	t0=$(date +%s)
	in_root "$top/run.log" "exec make run" &
	pid=$!
	up=
	while kill -0 "$pid" 2>/dev/null; do
		now=$(date +%s)
		if grep -qF "$banner" "$top/run.log" && [ -f "$ca" ] &&
			curl -fsS --max-time 5 --cacert "$ca" -o "$top/healthz.out" \
				https://localhost:8443/healthz 2>/dev/null; then
			up=$now
			break
		fi
		[ $((now - t0)) -lt "${FRESH_RUN_TIMEOUT:-1800}" ] || break
		sleep 2
	done
	if [ -n "$up" ]; then
		run_time=$((up - t0))
		say "make run: /healthz answered over TLS ($(head -c 100 "$top/healthz.out")) and" \
			"the banner was printed after $(mmss $run_time); stopping it with SIGINT"
	else
		run_time=$(($(date +%s) - t0))
		say "make run: FAILED: no /healthz answer with the banner after $(mmss $run_time)"
		rc=1
	fi
	# Ctrl-C: SIGINT to make run's process group (make, dev-run.sh's authd).
	kill -INT "-$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 20 ]; do sleep 0.5; i=$((i + 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		say "make run: still running 10 s after SIGINT; SIGKILL"
		kill -KILL "-$pid" 2>/dev/null || true
		rc=1
	fi
	wait "$pid" 2>/dev/null || true
	tail_of "$top/run.log"
	[ "$rc" -eq 0 ] || exit 1

	# -- make test: to the end, bounded --
	say "make test (limit ${FRESH_TEST_TIMEOUT:-3600} s; log $top/test.log)"
	t0=$(date +%s)
	in_root "$top/test.log" "exec timeout --kill-after=30 ${FRESH_TEST_TIMEOUT:-3600} make test" &
	pid=$!
	last=$t0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		now=$(date +%s)
		if [ $((now - last)) -ge 300 ]; then
			last=$now
			say "make test: $(mmss $((now - t0))) so far: $(grep '^########' "$top/test.log" | tail -n 1)"
		fi
	done
	wait "$pid" && test_rc=0 || test_rc=$?
	test_time=$(($(date +%s) - t0))
	tail_of "$top/test.log" 25
	if [ "$test_rc" -eq 0 ]; then
		say "make test: exit 0 after $(mmss $test_time)"
	else
		say "make test: FAILED (exit $test_rc$([ "$test_rc" -eq 124 ] && echo ', timed out')) after $(mmss $test_time)"
		rc=1
	fi

	# -- make install: the installed authctl uses the installed list --
	say "make install, then /usr/local/sbin/authctl with a config naming no data file"
	t0=$(date +%s)
	in_root "$top/install.log" '
		set -e
		timeout 600 make install
		d=$(mktemp -d)
		printf "[server]\nissuer = https://127.0.0.1:1\n[store]\npath = data\n" >"$d/authd.conf"
		printf "[password]\nargon2_memory_kib = 8192\nargon2_ops = 1\n" >>"$d/authd.conf"
		/usr/local/sbin/authctl -c "$d/authd.conf" init
		if echo password | /usr/local/sbin/authctl -c "$d/authd.conf" user add ann --password-stdin; then
			echo "installed authctl accepted a listed password"; exit 1
		fi
		/usr/local/sbin/authctl -c "$d/authd.conf" user add ann --password-stdin <<EOF
Zq8-$(date +%s)-unlisted
EOF
		echo "installed authctl: listed password refused, unlisted accepted (/usr/local/share/authd)"
	' &
	wait $! && install_rc=0 || install_rc=$?
	install_time=$(($(date +%s) - t0))
	tail_of "$top/install.log" 6
	if [ "$install_rc" -eq 0 ]; then
		say "make install: the installed copy found its data after $(mmss $install_time)"
	else
		say "make install: FAILED (exit $install_rc)"
		rc=1
	fi

	echo "$run_time $test_time $test_rc" >"$top/times"
	exit $rc
fi

# ---- outside: the base, the fresh root, the namespace ------------------------
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
for c in debootstrap unshare chroot setsid curl git timeout; do
	command -v $c >/dev/null || die "$c is missing (make test-fresh installs it: scripts/deps.sh fresh)"
done
mkdir -p "$top"
[ -z "$(mounts_under "$root")" ] || die "something is mounted under $root; not touching it"

commit=$(git -C "$here" rev-parse HEAD)
[ -z "$(git -C "$here" status --porcelain --untracked-files=no)" ] ||
	say "note: uncommitted changes are not tested (the clone is HEAD, $commit)"

# The base: debootstrap once, kept as a tarball; any change to how it is made
# (this recipe, the mirror) makes a new one.
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
recipe="debootstrap --variant=minbase --include=git,make $suite $mirror; sources: updates, security; hosts"
base=$top/base-$suite.tar
if [ ! -f "$base" ] || [ "$(cat "$top/base-$suite.recipe" 2>/dev/null)" != "$recipe" ]; then
	say "making the base Debian 12 root (debootstrap, about a minute; cached in $base)"
	rm -rf "$top/base.tmp"
	# In its own mount namespace: debootstrap mounts /proc and /sys in the target.
	unshare --mount --propagation private \
		debootstrap --variant=minbase --include=git,make "$suite" "$top/base.tmp" "$mirror" \
		>"$top/debootstrap.log" 2>&1 || { tail -n 20 "$top/debootstrap.log"; die "debootstrap failed"; }
	cat >"$top/base.tmp/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
		>"$top/base.tmp/etc/hosts"
	rm -f "$top/base.tmp/var/cache/apt/archives/"*.deb
	tar -C "$top/base.tmp" --numeric-owner -cf "$base.tmp" .
	mv "$base.tmp" "$base"
	echo "$recipe" >"$top/base-$suite.recipe"
	rm -rf "$top/base.tmp"
fi

cleanup() {
	set +e		# every step of the cleanup runs, whatever the one before did
	if [ -n "${ns:-}" ]; then
		kill -KILL "$ns" 2>/dev/null	# the namespace's PID 1 follows (--kill-child)
		wait "$ns" 2>/dev/null
	fi
	if [ -n "$(mounts_under "$root")" ]; then
		say "mounts left under $root; not removing it"
	elif [ "${FRESH_KEEP:-0}" != 1 ]; then
		rm -rf "$root"
	fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

say "a pristine root from $base"
rm -f "$top/run.log" "$top/test.log" "$top/install.log" "$top/healthz.out" "$top/times"
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" --numeric-owner -xpf "$base"
git clone -q --no-hardlinks "$here" "$root/work/authd"
git -C "$root/work/authd" checkout -q --detach "$commit"
if [ -d "$here/../shared" ]; then
	cp -a "$(cd "$here/../shared" && pwd -P)/." "$root/work/shared/"
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# A network that inspects TLS (as this machine's egress does) has its own CA; the
# host names it in NODE_EXTRA_CA_CERTS and npm in the root needs it too.
FRESH_CA=
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
	mkdir -p "$root/etc/ssl"
	cp "$NODE_EXTRA_CA_CERTS" "$root/etc/ssl/host-network-ca.pem"
	FRESH_CA=/etc/ssl/host-network-ca.pem
fi
export FRESH_CA

# curl's 7 is "nothing listens": anything else is a port make run cannot have.
curl -sk --max-time 3 -o /dev/null https://localhost:8443/ 2>/dev/null && busy=0 || busy=$?
[ "$busy" -eq 7 ] || die "something on this machine already listens on localhost:8443 (make run's port)"

say "testing $commit in $root (CI=true, no terminal, no stdin)"
t0=$(date +%s)
unshare --mount --pid --ipc --uts --fork --kill-child=SIGKILL \
	env top="$top" root="$root" sh "$0" --inside &
ns=$!
wait "$ns" && rc=0 || rc=$?
ns=
total=$(($(date +%s) - t0))

echo
if [ -f "$top/times" ]; then
	read -r run_time test_time test_rc <"$top/times"
	rm -f "$top/times"
	say "make run:  $(mmss "$run_time") to /healthz and the banner"
	say "make test: $(mmss "$test_time"), exit $test_rc; last line: $(tail -n 1 "$top/test.log")"
fi
if [ "$rc" -eq 0 ]; then
	say "PASSED in $(mmss $total): make run and make test work on a fresh Debian 12 ($commit)"
else
	say "FAILED (exit $rc) after $(mmss $total); logs: $top/run.log, test.log, install.log"
fi
exit "$rc"
