#!/bin/sh
# Run libFuzzer targets: fuzz/run.sh SECONDS TARGET...  Each target gets
# a corpus in fuzz/corpus/NAME (kept between runs) seeded from
# $srcdir/fuzz/seeds/NAME and from the test data ($YT_TESTDATA); a crash,
# leak, sanitizer report or timeout fails it, its input is kept as
# fuzz/crash-NAME-*.  One "PASS: fuzz/NAME" or "FAIL: fuzz/NAME" line per
# target, then "N passed, N failed".  FUZZ_MERGE=1 merges what the runs
# found into $srcdir/fuzz/seeds (minimised).
secs=${1:-60}; shift
src=$(cd "$(dirname "$0")/.." && pwd)
td=${YT_TESTDATA:-$src/../shared/testdata}
pass=0; fail=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export YT_TESTDATA="$td"
for t in "$@"; do
	name=$(basename "$t")
	short=${name#fuzz_}
	corpus=fuzz/corpus/$short
	mkdir -p "$corpus"
	[ -d "$src/fuzz/seeds/$short" ] && cp -n "$src/fuzz/seeds/$short"/* "$corpus"/ 2>/dev/null
	maxlen=65536
	case $short in
	gguf)	# small models and a vocabulary's first bytes
		maxlen=1300000
		for m in "$td"/models/stories260K.gguf "$td"/models/ktest/*.gguf; do
			[ -f "$m" ] && [ "$(wc -c <"$m")" -le $maxlen ] &&
				cp -n "$m" "$corpus/$(basename "$m")" 2>/dev/null
		done ;;
	tok|text)
		for f in "$td"/tokenizer/*.inp; do
			[ -f "$f" ] && head -c 4096 "$f" >"$corpus/$(basename "$f")"
		done ;;
	config)
		for f in "$src"/themes/*.yaml; do
			[ -f "$f" ] && cp -n "$f" "$corpus/theme-$(basename "$f")"
		done ;;
	esac
	if "$t" -max_total_time="$secs" -max_len=$maxlen -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="fuzz/crash-$short-" "$corpus" \
	    >"fuzz/$short.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz/$short.log")
		echo "PASS: fuzz/$name ($secs s, ${runs:-?} runs, $(ls "$corpus" | wc -l) in the corpus)"
		pass=$((pass+1))
		if [ -n "${FUZZ_MERGE:-}" ]; then
			mkdir -p "$src/fuzz/seeds/$short"
			"$t" -merge=1 -max_len=$maxlen "$src/fuzz/seeds/$short" \
			    "$corpus" >/dev/null 2>&1
		fi
	else
		echo "FAIL: fuzz/$name"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written|^    #[0-9]' \
		    "fuzz/$short.log" | head -25
		fail=$((fail+1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
