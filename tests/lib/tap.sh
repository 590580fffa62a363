# Sourced by shell test suites: TAP output and small assertions.
# tap_check NAME CMD...   runs CMD; ok when it exits 0
# tap_ok NAME / tap_not_ok NAME REASON
# tap_done                exit status: 0 when nothing failed
TAP_N=0
TAP_FAILED=0

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

tap_not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
	return 0
}

tap_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		tap_ok "$name"
	else
		tap_not_ok "$name" "$out"
	fi
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# tap_expect NAME ok|fail PATTERN CMD...: runs CMD; ok when it succeeded (ok)
# or failed (fail) as expected and its output matches the grep -E PATTERN.
tap_expect() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if { [ "$want" = ok ] && [ $rc -eq 0 ]; } || { [ "$want" = fail ] && [ $rc -ne 0 ]; }; then
		if printf '%s\n' "$out" | grep -qE -- "$pattern"; then
			tap_ok "$name"
			return 0
		fi
	fi
	tap_not_ok "$name" "exit status $rc, wanted $want and /$pattern/; output:
$out"
}
