#!/bin/sh
# Time to first token, as a user meets it: process start, model load, a
# ~500-token Chinese chat prompt (Llama-3 template, system prompt and a
# user message from ../shared/testdata/corpus) to the first reply token,
# in yangtuo and in llama.cpp (tests/ttft-ref.mjs); then a ~400-token
# system prompt and a short question, with the prompt cache and without.
# Medians of RUNS after a warm-up.  Run by `make bench`; any model:
#
#	tests/ttft.sh MODEL.gguf [RUNS]	(YT_BIN, YT_TESTDATA, YT_THREADS)
bin=${YT_BIN:-./yangtuo}
here=$(dirname "$0")
td=${YT_TESTDATA:-$here/../../shared/testdata}
model=${1:?usage: ttft.sh MODEL.gguf [RUNS]}
runs=${2:-3} threads=${YT_THREADS:-2}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"

# json_str FILE: the file's text as a JSON string
json_str() { printf '"'; sed 's/\\/\\\\/g; s/"/\\"/g' "$1" | tr '\n' ' '; printf '"'; }
# chat SYSFILE USERFILE OUT: the JSON chat
chat() {
	{ printf '[{"role":"system","content":'; json_str "$1"
	  printf '},{"role":"user","content":'; json_str "$2"; printf '}]\n'; } >"$3"
}
ntok() { "$bin" tokenize -m "$model" --template llama3 --chat "$1" | wc -w; }
# grow CORPUS OUT SYSFILE|- USERFILE|- N: lines of CORPUS into OUT until
# the chat (OUT in the place of the -) renders to N tokens or more
grow() {
	: >"$2"; k=0
	while :; do
		k=$((k + 1))
		head -n "$k" "$1" | tr '\n' ' ' >"$2"
		s=$3 u=$4
		[ "$s" = - ] && s=$2
		[ "$u" = - ] && u=$2
		chat "$s" "$u" "$tmp/chat.json"
		[ "$(ntok "$tmp/chat.json")" -ge "$5" ] && break
		[ "$k" -ge 2000 ] && break
	done
}
median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }
# yt SYSFILE USERFILE [FLAGS]: seconds from exec to the first byte of the
# reply on stdout (the token, as llama.cpp's side stops at its first
# token; not the exit, which unmaps gigabytes after it)
yt() {
	s=$1 u=$2; shift 2
	rm -f "$tmp/fail"
	t0=$(now)
	t1=$({ "$bin" -m "$model" -t "$threads" --temp 0 -n 1 --template llama3 \
	    --system "$(cat "$s")" -p "$(cat "$u")" "$@" 2>"$tmp/err" ||
	    : >"$tmp/fail"; } | { dd bs=1 count=1 of=/dev/null 2>/dev/null; now
	    cat >/dev/null; })
	[ -e "$tmp/fail" ] && { cat "$tmp/err" >&2; exit 1; }
	echo "$t1 $t0" | awk '{ printf "%.3f\n", $1 - $2 }'
}
# yload: seconds yangtuo bench takes to load the model
yload() {
	"$bin" bench -m "$model" -t "$threads" -p 0 -n 0 -r 1 --json 2>/dev/null |
	    sed -n 's/.*"load_s": *\([0-9.]*\).*/\1/p'
}
# medof N CMD...: the median of N runs after one warm-up
medof() { n=$1; shift; "$@" >/dev/null; i=0; while [ $i -lt "$n" ]; do "$@"; i=$((i + 1)); done | median; }

printf 'You are a helpful assistant. 你是一个乐于助人的助手。' >"$tmp/sys"
grow "$td/corpus/ruozhiba-questions.txt" "$tmp/user" "$tmp/sys" - 500
chat "$tmp/sys" "$tmp/user" "$tmp/c500.json"
n500=$(ntok "$tmp/c500.json")
printf '请用一句话回答：天为什么是蓝的？' >"$tmp/q"
# A system prompt of ~400 tokens of its own: the chat with an empty one,
# plus 400.
: >"$tmp/empty"
chat "$tmp/empty" "$tmp/q" "$tmp/c0.json"
n0=$(ntok "$tmp/c0.json")
# (questions from further on: short lines, another text than the user's)
tail -n +500 "$td/corpus/ruozhiba-questions.txt" >"$tmp/more"
grow "$tmp/more" "$tmp/longsys" - "$tmp/q" $((n0 + 400))
chat "$tmp/longsys" "$tmp/q" "$tmp/csys.json"
nsys=$(ntok "$tmp/csys.json")

echo "# $model, $threads threads, medians of $runs runs (seconds)"
ours=$(medof "$runs" yt "$tmp/sys" "$tmp/user" --no-prompt-cache)
echo "yangtuo   process start to first token, $n500-token prompt: $ours"
ref=$here/ttft-ref.mjs
if node "$ref" "$model" "$tmp/c500.json" --threads "$threads" >"$tmp/ref" 2>"$tmp/referr"; then
	for i in $(seq "$runs"); do
		node "$ref" "$model" "$tmp/c500.json" --threads "$threads"
	done >"$tmp/refs"
	all=$(sed 's/.*"first_token_s":\([0-9.]*\).*/\1/' "$tmp/refs" | median)
	lib=$(sed 's/.*"ready_s":\([0-9.]*\).*"first_token_s":\([0-9.]*\).*/\1 \2/' "$tmp/refs" |
	    awk '{ printf "%.3f\n", $2 - $1 }' | median)
	rn=$(sed 's/.*"prompt_tokens":\([0-9]*\).*/\1/' "$tmp/ref")
	echo "llama.cpp process start to first token, $rn-token prompt: $all (without node's start: $lib)"
	echo "$ours $lib" | awk '{ printf "ratio llama.cpp / yangtuo (without node): %.2fx\n", $2 / $1 }'
	# Loading alone: llama.cpp's loadModel (map, check, repack) against
	# yangtuo bench's load (the same, and a KV cache), page cache warm.
	rload=$(sed 's/.*"ready_s":\([0-9.]*\).*"loaded_s":\([0-9.]*\).*/\1 \2/' "$tmp/refs" |
	    awk '{ printf "%.3f\n", $2 - $1 }' | median)
	oload=$(medof "$runs" yload)
	echo "load: yangtuo $oload s, llama.cpp $rload s" |
	    awk -v a="$oload" -v b="$rload" '{ printf "%s (%.2fx)\n", $0, b / a }'
else
	echo "llama.cpp: not run ($(head -1 "$tmp/referr"))"
fi
cold=$(medof "$runs" yt "$tmp/longsys" "$tmp/q" --no-prompt-cache)
yt "$tmp/longsys" "$tmp/q" >/dev/null	# fills the cache
warm=$(medof "$runs" yt "$tmp/longsys" "$tmp/q")
echo "yangtuo   $nsys-token chat ($((nsys - n0)) of them the system prompt's): $cold uncached, $warm from the prompt cache"
echo "$cold $warm" | awk '{ printf "ratio uncached / cached: %.2fx\n", $1 / $2 }'
