#!/bin/sh
# Speed against llama.cpp, as a ratio measured in one run: for each shape
# and weight type, a synthetic model is written by yangtuo itself (kept in
# $YT_BENCH_DIR between runs), then `yangtuo bench` and llama.cpp's bench
# (../shared/reference/llamacpp-ref.mjs) run on the same file with the
# same threads, back to back, ROUNDS times in turn.  Each engine reports
# the median of its repetitions; the table gives the median of the rounds
# and, for the ratio, the lowest and highest round.  Not a test:
# `make bench` runs it.
#
#   tests/bench.sh [-a] [-k ROUNDS] [-t THREADS] [-p 512] [-n 128] [-r 3]
#                  [SHAPE:TYPE ...]
#   e.g. tests/bench.sh 1b:Q4_0 1b:Q8_0 1b:Q4_K_M 1b:Q6_K 8b:Q4_0
#   -a   both engines on their AVX2 code: YANGTUO_NO_VNNI=1 for yangtuo,
#        the reference's AVX2-only copy ($YT_REF-avx2) for llama.cpp.
# A mixture (Q4_K_M, Q5_K_S, Q3_K_L ...) is quantized by
# `yangtuo quantize` from a random F16 model of the shape, as users make
# theirs from an F16 download.
set -u
bin=${YT_BIN:-./yangtuo}
ref=${YT_REF_SCRIPT:-$(dirname "$0")/../../shared/reference/llamacpp-ref.mjs}
dir=${YT_BENCH_DIR:-/tmp/yangtuo-bench}
threads=2 pp=512 tg=128 reps=3 rounds=1 avx2=0
while getopts ak:t:p:n:r: o; do
	case $o in
	a) avx2=1 ;; k) rounds=$OPTARG ;;
	t) threads=$OPTARG ;; p) pp=$OPTARG ;; n) tg=$OPTARG ;; r) reps=$OPTARG ;;
	*) echo "usage: $0 [-a] [-k ROUNDS] [-t N] [-p N] [-n N] [-r N] [SHAPE:TYPE ...]" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- 1b:Q4_0 1b:Q8_0
if [ $avx2 = 1 ]; then
	YANGTUO_NO_VNNI=1 YT_REF=${YT_REF:-$HOME/.cache/yangtuo-ref}-avx2
	export YANGTUO_NO_VNNI YT_REF
	[ -d "$YT_REF" ] || { echo "$0: no $YT_REF: run the reference's ./setup" >&2; exit 1; }
fi
mkdir -p "$dir"
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
# median of the numbers on stdin, one a line
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0;
	else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-10s %10s %10s %7s %13s   %10s %10s %7s %13s\n' model pp_yangtuo pp_llama \
    ratio '(range)' tg_yangtuo tg_llama ratio '(range)'
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
	runs=$dir/.runs.$$ && : >"$runs"
	k=0
	while [ $k -lt "$rounds" ]; do
		ours=$("$bin" bench -m "$model" -t "$threads" -p "$pp" -n "$tg" -r "$reps" \
		    --json --bandwidth 2>/dev/null)
		theirs=$(node "$ref" bench "$model" --threads "$threads" --pp "$pp" --tg "$tg" \
		    --reps "$reps" 2>/dev/null | tail -1)
		echo "$(echo "$ours" | field pp_tps) $(echo "$theirs" | field pp_tps)" \
		    "$(echo "$ours" | field tg_tps) $(echo "$theirs" | field tg_tps)" \
		    "$(echo "$ours" | field tg_bound_tps) $(echo "$ours" | field peak_rss_bytes)" \
		    >>"$runs"
		k=$((k + 1))
	done
	col() { awk -v c="$1" '{ print $c }' "$runs" | median; }
	ratios() { awk -v a="$1" -v b="$2" '$b > 0 { print $a / $b }' "$runs"; }
	opp=$(col 1) lpp=$(col 2) otg=$(col 3) ltg=$(col 4) bound=$(col 5) rss=$(col 6)
	rpp=$(ratios 1 2 | median) rtg=$(ratios 3 4 | median)
	lo_pp=$(ratios 1 2 | sort -g | head -1) hi_pp=$(ratios 1 2 | sort -g | tail -1)
	lo_tg=$(ratios 3 4 | sort -g | head -1) hi_tg=$(ratios 3 4 | sort -g | tail -1)
	awk -v m="$shape:$type" -v a="$opp" -v b="$lpp" -v r="$rpp" -v l="${lo_pp:-0}" \
	    -v h="${hi_pp:-0}" -v c="$otg" -v d="$ltg" -v s="$rtg" -v L="${lo_tg:-0}" \
	    -v H="${hi_tg:-0}" 'BEGIN {
		printf "%-10s %10.2f %10.2f %6.2fx %13s   %10.2f %10.2f %6.2fx %13s\n",
		    m, a, b, r, sprintf("(%.2f-%.2f)", l, h), c, d, s, sprintf("(%.2f-%.2f)", L, H) }'
	awk -v m="$shape:$type" -v t="$otg" -v lt="$ltg" -v b="$bound" -v r="$rss" \
	    -v n="$rounds" 'BEGIN { if (b + 0 > 0)
		printf "  %s: decode at %.0f%% of the memory-bandwidth bound (%.1f t/s; llama.cpp %.0f%%); peak RSS %.0f MiB; %d round%s\n",
		    m, 100 * t / b, b, 100 * lt / b, r / 1048576, n, n == 1 ? "" : "s" }'
	rm -f "$runs"
done
