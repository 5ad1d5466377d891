#!/bin/sh
# tests/integration/layering.test.sh — pages live in share/, not in C: no
# string literal in authd/ or modules/ (.c and .h) holds an HTML tag or
# entity, CSS or JavaScript. Comments are dropped first (gcc -fpreprocessed
# keeps the code, removes the comments, expands nothing), then every string
# literal is matched. Needs no daemon; TAP output. The allowed exceptions are
# listed below, each with its reason (none today).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
T=${AUTHD_WORK:-$(mktemp -d)}

# FILE<TAB>LITERAL pairs that may stay, with why. Keep it empty if you can.
allowed='
'
# Chinese words an operator reads, not a person signing in: the command
# line's usage and banner and the config checker's messages (English, with the
# Chinese name of a card or a law beside it).
skipped() { # skipped KIND FILE
	case "$1 $2" in "cjk authd/authctl"* | "cjk authd/main.c" | "cjk authd/config.c") return 0 ;; esac
	return 1
}

literals() { # literals FILE: every string literal of FILE, one a line
	gcc -fpreprocessed -dD -E -P -x c "$1" 2>/dev/null |
		grep -oE '"([^"\\]|\\.)*"'
}

# markup KIND REGEX [GREP-FLAG]: the literals that match, as FILE: LITERAL lines
markup() {
	set -- "$1" "$2" "${3:--E}"
	: >"$T/markup.$1"
	for f in "$root"/authd/*.[ch] "$root"/authd/*/*.[ch] "$root"/modules/*.[ch]; do
		[ -f "$f" ] || continue
		rel=${f#"$root"/}
		literals "$f" | LC_ALL=C.UTF-8 grep "$3" -- "$2" | while IFS= read -r lit; do
			case "$allowed" in *"$rel	$lit"*) continue ;; esac
			skipped "$1" "$rel" && continue
			printf '%s: %s\n' "$rel" "$lit"
		done >>"$T/markup.$1"
	done
	if [ -s "$T/markup.$1" ]; then
		sed 's/^/# /' "$T/markup.$1" | head -n 20
		return 1
	fi
	return 0
}

# The check finds what it is meant to find (else an empty result proves nothing).
probe() {
	printf '%s\n' "$2" >"$T/probe.c"
	literals "$T/probe.c" | grep -qE -- "$1"
}
not_probe() { ! probe "$@"; }
probe_p() {
	printf '%s\n' "$2" >"$T/probe.c"
	literals "$T/probe.c" | LC_ALL=C.UTF-8 grep -qP -- "$1"
}

html='<[!/]?[A-Za-z][A-Za-z0-9-]*([ />]|\\"|$)|&(amp|lt|gt|quot|#[0-9]+|nbsp);'
css='(^|[^A-Za-z0-9_])(@media|:root|[a-z][a-z0-9.#-]*\{[a-z-]+:)|(color|margin|padding|font|display|border|background):[^"]*;'
js='function *\(|document\.|window\.|addEventListener|=> *\{|\b(var|let|const) [A-Za-z_$][A-Za-z0-9_$]* *='

ok "the HTML check finds a tag in a string literal" probe "$html" 'const char *s = "<p class=\"x\">hi</p>";'
ok "the HTML check ignores comments" not_probe "$html" '/* "<family>.<random>" */ int x;'
ok "the CSS check finds a rule" probe "$css" 'const char *s = "body{margin:0}";'
ok "the JS check finds a function" probe "$js" 'const char *s = "(function () { var a = 1; })();";'
ok "no HTML tag or entity in a C string of authd/ or modules/" markup html "$html"
ok "no CSS in a C string of authd/ or modules/" markup css "$css"
ok "no JavaScript in a C string of authd/ or modules/" markup js "$js"
cjk='[\x{3000}-\x{303f}\x{4e00}-\x{9fff}\x{ff00}-\x{ffef}]'
ok "the text check finds Chinese words" probe_p "$cjk" 'const char *s = "登入";'
ok "no Chinese page text in a C string of authd/ or modules/ (it is in share/i18n)" markup cjk "$cjk" -P
ok "no page text table (struct ui_text) in authd/ or modules/" \
	sh -c '! grep -rn "struct ui_text\|ui_label_zh\|ui_label_en\|error_zh\|error_en" \
		"$1"/authd "$1"/modules --include=*.c --include=*.h' - "$root"
tap_end
