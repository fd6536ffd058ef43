#!/bin/sh
# Runs a VM command that boots the test guest and checks what it did.
#
#   check-guest.sh [--exit N] [--expect TEXT]... [--reject TEXT]...
#                  [--timeout SEC] -- CMD ARGS...
#
# CMD's output (the guest console: minivmm --console -, qemu -serial stdio)
# is captured and echoed; the check passes when CMD's exit status is N
# (default 0), every --expect TEXT occurs in the output and no --reject
# TEXT does. Exit 0 = pass, 1 = fail, 77 = CMD not installed (a failure
# when CI=true). POSIX sh on purpose: it also runs inside the L1 VM.
set -u

want_exit=0
limit=60
expects=$(mktemp) || exit 1
rejects=$(mktemp) || exit 1
out=$(mktemp) || exit 1
trap 'rm -f "$expects" "$rejects" "$out"' EXIT

while [ $# -gt 0 ]; do
	case $1 in
	--exit) want_exit=$2; shift 2 ;;
	--expect) printf '%s\n' "$2" >>"$expects"; shift 2 ;;
	--reject) printf '%s\n' "$2" >>"$rejects"; shift 2 ;;
	--timeout) limit=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "check-guest: unknown option $1" >&2; exit 1 ;;
	esac
done
if [ $# -eq 0 ]; then
	echo "check-guest: no command given" >&2
	exit 1
fi
if ! command -v "$1" >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "check-guest: FAIL: $1 is not installed (CI=true: not skipping)"
		exit 1
	fi
	echo "check-guest: SKIP: $1 is not installed"
	exit 77
fi

echo "check-guest: running: $*"
start=$(date +%s)
timeout --kill-after=5 "$limit" "$@" </dev/null >"$out" 2>&1
status=$?
end=$(date +%s)
tr -d '\r' <"$out" | sed 's/^/  | /'
echo "check-guest: exit status $status after $((end - start)) s"

fail=0
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "check-guest: FAIL: timed out after $limit s"
	fail=1
elif [ "$status" -ne "$want_exit" ]; then
	echo "check-guest: FAIL: exit status $status, want $want_exit"
	fail=1
fi
while IFS= read -r text; do
	if ! tr -d '\r' <"$out" | grep -qF -- "$text"; then
		echo "check-guest: FAIL: output lacks \"$text\""
		fail=1
	fi
done <"$expects"
while IFS= read -r text; do
	if tr -d '\r' <"$out" | grep -qF -- "$text"; then
		echo "check-guest: FAIL: output contains \"$text\""
		fail=1
	fi
done <"$rejects"
[ $fail -eq 0 ] && echo "check-guest: PASS"
exit $fail
