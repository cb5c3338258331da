#!/bin/sh
# Speed against llama.cpp, as a ratio measured in one run: for each shape
# and weight type, a synthetic model is written by yangtuo itself (kept in
# $YT_BENCH_DIR between runs), then `yangtuo bench` and llama.cpp's bench
# (../shared/reference/llamacpp-ref.mjs) run on the same file with the
# same threads, back to back.  Not a test: `make bench` runs it.
#
#   tests/bench.sh [-t THREADS] [-p 512] [-n 128] [-r 3] [SHAPE:TYPE ...]
#   e.g. tests/bench.sh 1b:Q4_0 1b:Q8_0 1b:Q4_K_M 1b:Q6_K 8b:Q4_0
# A mixture (Q4_K_M, Q5_K_S, Q3_K_L ...) is quantized by
# `yangtuo quantize` from a random F16 model of the shape, as users make
# theirs from an F16 download.
set -u
bin=${YT_BIN:-./yangtuo}
ref=${YT_REF_SCRIPT:-$(dirname "$0")/../../shared/reference/llamacpp-ref.mjs}
dir=${YT_BENCH_DIR:-/tmp/yangtuo-bench}
threads=2 pp=512 tg=128 reps=3
while getopts t:p:n:r: o; do
	case $o in
	t) threads=$OPTARG ;; p) pp=$OPTARG ;; n) tg=$OPTARG ;; r) reps=$OPTARG ;;
	*) echo "usage: $0 [-t N] [-p N] [-n N] [-r N] [SHAPE:TYPE ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- 1b:Q4_0 1b:Q8_0
mkdir -p "$dir"
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
printf '%-10s %10s %10s %7s   %10s %10s %7s\n' model pp_yangtuo pp_llama ratio tg_yangtuo tg_llama ratio
for spec in "$@"; do
	shape=${spec%%:*} type=${spec#*:}
	model=$dir/$shape-$type.gguf
	if [ ! -f "$model" ]; then
		case $type in
		*_M|*_S|*_L)
			f16=$dir/$shape-F16.gguf
			[ -f "$f16" ] || "$bin" quantize --random "$shape" F16 "$f16" || exit 1
			"$bin" quantize "$f16" "$model" "$type" >/dev/null || exit 1 ;;
		*)
			"$bin" quantize --random "$shape" "$type" "$model" || exit 1 ;;
		esac
	fi
	ours=$("$bin" bench -m "$model" -t "$threads" -p "$pp" -n "$tg" -r "$reps" --json --bandwidth 2>/dev/null)
	theirs=$(node "$ref" bench "$model" --threads "$threads" --pp "$pp" --tg "$tg" --reps "$reps" 2>/dev/null | tail -1)
	opp=$(echo "$ours" | field pp_tps) otg=$(echo "$ours" | field tg_tps)
	lpp=$(echo "$theirs" | field pp_tps) ltg=$(echo "$theirs" | field tg_tps)
	awk -v m="$shape:$type" -v a="$opp" -v b="$lpp" -v c="$otg" -v d="$ltg" 'BEGIN {
		printf "%-10s %10.2f %10.2f %6.2fx   %10.2f %10.2f %6.2fx\n", m, a, b,
		    (b > 0 ? a / b : 0), c, d, (d > 0 ? c / d : 0) }'
	echo "$ours" | awk -v m="$shape:$type" '{
		match($0, /"tg_bound_tps": *[0-9.]+/); b = substr($0, RSTART, RLENGTH); sub(/.*: */, "", b)
		match($0, /"tg_tps": *[0-9.]+/); t = substr($0, RSTART, RLENGTH); sub(/.*: */, "", t)
		match($0, /"peak_rss_bytes": *[0-9]+/); r = substr($0, RSTART, RLENGTH); sub(/.*: */, "", r)
		if (b + 0 > 0) printf "  %s: decode at %.0f%% of the memory-bandwidth bound (%.1f t/s); peak RSS %.0f MiB\n", m, 100 * t / b, b, r / 1048576 }'
done
