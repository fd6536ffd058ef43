#!/bin/bash
# Runs several check-guest.sh cases in one go (one L1 VM boot for all of
# them when called through tests/vmtest/run-kvm) and sums them up.
#
#   check-guest-cases.sh NAME CHECK-GUEST-ARGS... [::: NAME CHECK-GUEST-ARGS...]...
#
# Exit 0 when every case passed, 77 when every case skipped (check-guest.sh
# already turns a skip into a failure when CI=true), else 1.
set -u
here=$(dirname "$0")
passed=() failed=() skipped=()

run_case() {
	local name=$1
	shift
	echo "=== guest case $name"
	"$here/check-guest.sh" "$@"
	case $? in
	0) passed+=("$name") ;;
	77) skipped+=("$name") ;;
	*) failed+=("$name") ;;
	esac
}

args=()
for a in "$@" :::; do
	if [ "$a" = ::: ]; then
		[ ${#args[@]} -gt 0 ] && run_case "${args[@]}"
		args=()
	else
		args+=("$a")
	fi
done

echo "=== guest cases: ${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
[ ${#failed[@]} -gt 0 ] && echo "=== failed: ${failed[*]}"
[ ${#failed[@]} -gt 0 ] && exit 1
[ ${#passed[@]} -eq 0 ] && exit 77
exit 0
