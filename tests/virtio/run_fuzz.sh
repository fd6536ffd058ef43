#!/bin/sh
# Run a libFuzzer binary for a bounded time: run_fuzz.sh FUZZER CORPUS SECONDS
# (meson 1.0 cannot use a custom_target as a test executable).
set -e
fuzzer=$1 corpus=$2 secs=$3
mkdir -p "$corpus"
# libFuzzer's default error exit code is 77, which meson reads as "skipped".
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
	-error_exitcode=1 -artifact_prefix="$corpus/../fuzz-" -print_final_stats=1 "$corpus"
