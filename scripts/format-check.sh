#!/bin/sh
# scripts/format-check.sh [BASE] [fix] — clang-format --dry-run over the C lines this
# change adds: the working tree against BASE (default: main), lines moved
# unchanged from elsewhere left out (git diff --color-moved), so a split or a
# move of old code is not asked to reformat it. Prints clang-format's
# complaints and exits 1 when there are any; 0 when the new lines follow
# .clang-format. Why only the new lines: see the top of .clang-format.
# New files count once git knows them (git add, or git add -N). With "fix",
# clang-format rewrites those lines in place instead.
set -u

base=${1:-main}
fix=${2:-}
cf=${CLANG_FORMAT:-clang-format}
command -v "$cf" >/dev/null 2>&1 || { echo "format-check: $cf not found (apt install clang-format)"; exit 2; }
git rev-parse --verify -q "$base^{commit}" >/dev/null || { echo "format-check: no commit '$base'"; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/format-check.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
esc=$(printf '\033')
# One diff over every C file (moves across files are seen only that way); the
# colours are fixed here, whatever the user's git config says: plain added
# lines green, moved ones blue. Out: "FILE LINE" per added, not moved line.
git -c color.diff.new=green -c color.diff.newMoved=blue \
	-c color.diff.newMovedAlternative=blue -c color.diff.meta=normal \
	-c color.diff.frag=normal -c color.diff.old=red -c color.diff.oldMoved=red \
	-c diff.renames=false \
	diff -U0 --no-ext-diff --color=always --color-moved=plain "$base" -- '*.c' '*.h' |
awk -v e="$esc" '
	{ plain = $0; gsub(e "\\[[0-9;]*m", "", plain) }
	plain ~ /^\+\+\+ / { f = substr(plain, 5); sub(/^b\//, "", f); next }
	plain ~ /^(---|diff|index|new file|deleted file|similarity|rename|old mode|new mode) / { next }
	plain ~ /^@@ / { split(plain, w, " "); split(w[3], a, ","); ln = substr(a[1], 2) + 0; next }
	plain ~ /^\+/ { if (f != "/dev/null" && index($0, e "[34m") == 0 && index($0, e "[1;34m") == 0)
			print f, ln
		ln++ }
' >"$T/lines"

bad=0 n=0
for f in $(cut -d' ' -f1 "$T/lines" | uniq); do
	[ -f "$f" ] || continue
	args=$(awk -v f="$f" '$1 == f { print $2 }' "$T/lines" | awk '
		NR == 1 { s = $1; p = $1; next }
		$1 == p + 1 { p = $1; next }
		{ printf "--lines=%d:%d ", s, p; s = $1; p = $1 }
		END { if (NR) printf "--lines=%d:%d", s, p }')
	n=$((n + 1))
	if [ "$fix" = fix ]; then
		# shellcheck disable=SC2086
		"$cf" -i --style=file $args "$f" || bad=$((bad + 1))
		continue
	fi
	# shellcheck disable=SC2086
	if ! out=$("$cf" --dry-run -Werror --style=file $args "$f" 2>&1); then
		printf '%s\n' "$out"
		bad=$((bad + 1))
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "format-check: $bad of $n changed files have new lines not in the .clang-format style"
	echo "  (fix: clang-format -i --lines=A:B FILE, or git diff -U0 $base | clang-format-diff -p1 -i)"
	exit 1
fi
echo "format-check: the new lines of $n changed C files follow .clang-format"
