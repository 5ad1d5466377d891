# tests/integration/totp.sh — sourced by the shell suites that sign in with TOTP
# (aal.test.sh, second-factor.test.sh): time steps, codes with oathtool, and
# enrolment through authctl. Needs $T, ctl and bail from the caller.

step_now() { echo $(($(date +%s) / 30)); }
code_at() { # code_at SECRET STEP
	oathtool --totp -b "$1" --now "@$(($2 * 30 + 1))"
}
# A code for a step after NAME's last used one and within ±1 of now (waits at
# most one step when both are used up).
fresh_code() {
	last=$(cat "$T/$1.step")
	i=0
	while [ $i -lt 40 ]; do
		s=$(step_now)
		st=$((last + 1))
		[ $st -lt $s ] && st=$s
		if [ $st -le $((s + 1)) ]; then
			echo $st >"$T/$1.step"
			code_at "$(cat "$T/$1.secret")" $st
			return 0
		fi
		sleep 1
		i=$((i + 1))
	done
	return 1
}
# Keeps clear of a step boundary for the next couple of seconds.
settle() {
	while [ $(($(date +%s) % 30)) -ge 28 ]; do
		sleep 0.5
	done
}

# enrol NAME: authctl totp enrol with a code of the previous step; keeps
# $T/NAME.secret, $T/NAME.step (last used) and $T/NAME.recovery (ten codes).
enrol() {
	rm -f "$T/$1.fifo"
	: >"$T/$1.enrol"
	mkfifo "$T/$1.fifo" || bail "mkfifo"
	ctl totp enrol "$1" --code-stdin <"$T/$1.fifo" >"$T/$1.enrol" 2>"$T/$1.enrol.err" &
	epid=$!
	exec 3>"$T/$1.fifo"
	i=0
	while ! grep -qs 'secret=' "$T/$1.enrol" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/$1.enrol" | head -n 1 >"$T/$1.secret"
	if [ ! -s "$T/$1.secret" ]; then
		exec 3>&-
		wait $epid
		bail "authctl totp enrol $1 printed no otpauth URI: $(cat "$T/$1.enrol.err")"
	fi
	settle
	s=$(($(step_now) - 1))
	code_at "$(cat "$T/$1.secret")" $s >&3
	exec 3>&-
	wait $epid || bail "authctl totp enrol $1 failed: $(cat "$T/$1.enrol.err")"
	echo $s >"$T/$1.step"
	grep -oE '^[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}$' "$T/$1.enrol" >"$T/$1.recovery"
}
