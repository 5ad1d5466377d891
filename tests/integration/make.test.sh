#!/bin/sh
# tests/integration/make.test.sh BUILD — the guard of issue 10: on a fresh Debian 12
# `make run` linked with flags computed before scripts/deps.sh had installed the
# libraries, and failed. Here pkg-config is a stand-in first in PATH that logs each
# call. While it finds nothing, for every target that builds, `make -n` must schedule
# scripts/deps.sh before any compile or link, and some pkg-config call must come after
# deps.sh and before the first compile (flags read after the install, not from the
# parse that preceded it). While it finds everything (a marker flag), every compile
# must carry its --cflags and every link its --libs (no library list left empty).
# Every .PHONY target of the Makefile is either checked here or named as building
# nothing, so a new target cannot slip past. Only `make -n`, from a clean make
# environment as a person types it: nothing is installed or built. Prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/authd-make.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM
cd "$root" || exit 1

# Targets that compile nothing in this tree (test-fresh builds inside its own root).
NOBUILD="clean deps deps-test test-fresh client-man-check format-check FORCE"

mkdir -p "$T/bin"
cat >"$T/bin/pkg-config" <<'EOF'
#!/bin/sh
# Stands in for pkg-config. GUARD_FIND=0: a machine with no -dev package, finds
# nothing. GUARD_FIND=1: finds everything, answering a marker flag.
# Like pkg-config, it answers nothing when asked about no package.
echo "##pkg-config $*" >>"$GUARD_LOG"
[ "$GUARD_FIND" = 1 ] || exit 1
flag= pkgs=0
for a in "$@"; do
	case $a in
	--cflags) flag=-DGUARD_CFLAGS ;;
	--libs) flag=-lguard_libs ;;
	-*) ;;
	*) pkgs=$((pkgs + 1)) ;;
	esac
done
[ "$pkgs" -gt 0 ] || exit 1
echo "$flag"
EOF
chmod +x "$T/bin/pkg-config"
export GUARD_LOG="$T/log" GUARD_FIND=0

# plan GOAL: what `make -n GOAL` would do, with the stand-in's calls in order
# among the commands (one file, both append). Compilers get names of their own.
# Not under the make that runs this test: its MAKEFLAGS would skip the outer step.
plan() {
	: >"$GUARD_LOG"
	PATH="$T/bin:$PATH" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u AUTHD_INNER \
		make -n --no-print-directory BUILD="$T/build" FUZZ_BUILD="$T/fuzz" \
		CC=guard-cc FUZZ_CC=guard-clang "$1" >>"$GUARD_LOG" 2>&1
}

# order: "COMPILES BEFORE_DEPS WITHOUT_FRESH_FLAGS" for the plan in the log.
order() {
	awk '
		/^##pkg-config / { if (deps) fresh = 1; next }
		/scripts\/deps\.sh/ { deps = 1; fresh = 0; next }
		$1 == "guard-cc" || $1 == "guard-clang" {
			n++
			if (!deps) before++
			else if (!fresh) stale++
		}
		END { printf "%d %d %d\n", n, before, stale }
	' "$GUARD_LOG"
}

# unflagged: "COMPILES LINKS BAD": compiles without the --cflags marker and links
# without the --libs marker (a recipe's continued lines joined); the bad ones on
# stderr.
unflagged() {
	awk '
		{ line = line $0 }
		/\\$/ { sub(/\\$/, "", line); next }
		{
			split(line, w, " ")
			if (w[1] == "guard-cc" || w[1] == "guard-clang") {
				if (line ~ / -c /) {
					c++
					if (line !~ /-DGUARD_CFLAGS/) { bad++; print "# " substr(line, 1, 160) > "/dev/stderr" }
				} else {
					l++
					if (line !~ /-lguard_libs/) { bad++; print "# " substr(line, 1, 160) > "/dev/stderr" }
				}
			}
			line = ""
		}
		END { printf "%d %d %d\n", c, l, bad }
	' "$GUARD_LOG"
}

goals=$(PATH="$T/bin:$PATH" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	make -qp AUTHD_INNER=1 BUILD="$T/build" 2>/dev/null |
	sed -n 's/^\.PHONY: //p' | tr ' ' '\n' | sort -u)
ok "the Makefile's targets are listed (make -qp)" has "$goals" run

for g in $goals; do
	case " $NOBUILD " in *" $g "*) continue ;; esac
	plan "$g"
	rc=$?
	set -- $(order)
	if [ "$rc" -ne 0 ] || [ "$1" -eq 0 ]; then
		ok "make -n $g schedules a build (exit $rc, $1 compile/link lines)" false
		tail -n 5 "$GUARD_LOG" | sed 's/^/# /'
		continue
	fi
	ok "make -n $g: scripts/deps.sh before all $1 compile/link lines" eq "$2" 0
	ok "make -n $g: flags read after scripts/deps.sh for every compile/link" eq "$3" 0
done

# pkg-config finds everything: every compile and link carries what it answered.
GUARD_FIND=1
for g in $goals; do
	case " $NOBUILD " in *" $g "*) continue ;; esac
	plan "$g"
	set -- $(unflagged 2>"$T/unflagged")
	ok "make -n $g: all $1 compiles carry pkg-config's cflags, all $2 links its libs" eq "$3" 0
	head -n 3 "$T/unflagged"
done
GUARD_FIND=0

# The run and test goals install what they run with, not only the libraries.
plan run
ok "make run installs the build and run groups" grep -q '^sh scripts/deps.sh build run$' "$GUARD_LOG"
plan test
ok "make test installs the build and test groups" grep -q '^sh scripts/deps.sh build test$' "$GUARD_LOG"
plan clean
ok "make clean installs nothing" sh -c '! grep -q "scripts/deps.sh" "$1"' - "$GUARD_LOG"

tap_end
