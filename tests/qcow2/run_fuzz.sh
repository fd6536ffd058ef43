#!/bin/sh
# Run the qcow2 libFuzzer target for a bounded time on a seed corpus of small
# images made by qemu-img (when present) and by our own `img create`.
set -eu
fuzz=$(realpath "$1"); img=$(realpath "$2"); secs="${3:-30}"
art="${FUZZ_ARTIFACTS:-$PWD}"
dir=$(mktemp -d "${TMPDIR:-/tmp}/qcow2fuzz.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/corpus"
c="$dir/corpus"
"$img" create -q -f qcow2 -o cluster_size=512 "$c/ours512" 1M
"$img" create -q -f qcow2 -o cluster_size=512,refcount_bits=1 "$c/rc1" 1M
if command -v qemu-img >/dev/null 2>&1; then
	qemu-img create -q -f qcow2 -o cluster_size=512,compat=0.10 "$c/v2" 1M
	qemu-img create -q -f raw "$dir/src.raw" 64k
	qemu-io -f raw -c 'write -P 0x41 0 20k' -c 'write -P 0x42 40k 5k' "$dir/src.raw" >/dev/null
	qemu-img convert -c -O qcow2 -o cluster_size=512 "$dir/src.raw" "$c/zlib"
	qemu-img convert -c -O qcow2 -o cluster_size=512,compression_type=zstd "$dir/src.raw" "$c/zstd"
	qemu-img convert -O qcow2 -o cluster_size=512 "$dir/src.raw" "$c/plain"
	qemu-img convert -O qcow2 -o cluster_size=16k,extended_l2=on "$dir/src.raw" "$c/extl2"
	qemu-io -c 'write -z 0 4k' -c 'write -P 0x43 5k 512' "$c/extl2" >/dev/null
fi
cd "$dir"
# libFuzzer exits 77 on a crash by default, which meson reads as "skipped".
"$fuzz" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=70000 -error_exitcode=1 -print_final_stats=1 -artifact_prefix="$art/" "$c"
