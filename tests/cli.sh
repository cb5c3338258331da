#!/bin/sh
# The yangtuo binary as a user runs it: GNU --help/--version, usage errors,
# and the engine commands run/eval/info on the small models, compared with
# llama.cpp's greedy tokens from ../shared/testdata/reference.  TAP output.
bin=${YT_BIN:-./yangtuo}
td=${YT_TESTDATA:-../shared/testdata}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

"$bin" --help >"$tmp/out" 2>&1; t $? "--help exits 0"
grep -q '^Usage: yangtuo' "$tmp/out"; t $? "--help prints a usage line"
grep -q 'Report bugs to' "$tmp/out"; t $? "--help ends with where to report bugs"
"$bin" --version >"$tmp/out" 2>&1; t $? "--version exits 0"
head -1 "$tmp/out" | grep -qE '^yangtuo \(yangtuo\) [0-9]+\.[0-9]+'; t $? "--version first line is GNU style"
"$bin" --no-such-option >/dev/null 2>&1; [ $? = 2 ]; t $? "an unknown option exits 2"
"$bin" run >/dev/null 2>&1; [ $? = 2 ]; t $? "run without a model exits 2"
"$bin" --version | grep -q '^Copyright (C) [0-9]\{4\}'; t $? "--version has a copyright line"
"$bin" --version | grep -q 'GPL'; t $? "--version says the linked binary is under the GPL (readline)"
for cmd in run eval info tokenize quantize bench perplexity; do
	"$bin" $cmd --help >"$tmp/out" 2>&1; r=$?
	[ $r = 0 ] && grep -q "^Usage: yangtuo $cmd\|^usage: yangtuo $cmd" "$tmp/out"
	t $? "$cmd --help exits 0 with its usage"
done
# The config named last, as --config=FILE, is read (it used to be skipped).
"$bin" --data-file a --config=/nonexistent.yaml >/dev/null 2>"$tmp/err"; r=$?
[ $r = 78 ] && grep -q nonexistent "$tmp/err"; t $? "--config=FILE as the last argument is read (exit 78 for a missing one)"
"$bin" --config /nonexistent.yaml --data-file a >/dev/null 2>&1
[ $? = 78 ]; t $? "--config FILE first is read"
# No build path in the program (it finds its data at run time).
[ -n "${YT_SRCDIR:-}" ] && ! grep -qaF "$YT_SRCDIR" "$bin"
t $? "the binary holds no build path"

# The demo model: a reply of 256 tokens unless told (it used to run to
# the end of the context); a one-word --system must name a prompt.
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
mkdir -p "$XDG_CONFIG_HOME/yangtuo"
printf 'prompts:\n  - name: pirate\n    text: "Talk like a pirate."\n' \
    >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
"$bin" -t 1 --seed 3 -v -p "Once upon a time" >"$tmp/out" 2>"$tmp/err"
g=$(sed -n 's/.*reply \([0-9]*\) tokens.*/\1/p' "$tmp/err")
[ -n "$g" ] && [ "$g" -le 256 ]; t $? "the demo's reply stops at 256 tokens by default ($g)"
"$bin" -t 1 --seed 3 -n 300 -v -p "Once upon a time" >"$tmp/out" 2>"$tmp/err"
g=$(sed -n 's/.*reply \([0-9]*\) tokens.*/\1/p' "$tmp/err")
[ -n "$g" ] && [ "$g" -gt 256 ]; t $? "-n still says otherwise ($g)"
"$bin" --system pirat -p hi >"$tmp/out" 2>"$tmp/err"; [ $? = 2 ] &&
    grep -q "no system prompt named 'pirat' (did you mean 'pirate'?)" "$tmp/err"
t $? "--system with a typo of a name: exit 2, the nearest name suggested"
"$bin" -t 1 --seed 3 -n 4 --system "Be brief." -p hi >"$tmp/out" 2>"$tmp/err"
t $? "--system with a text of one's own (a blank) is taken"
"$bin" -t 0 -n 4 -p hi >"$tmp/out" 2>"$tmp/err"
t $? "-t 0 is the online cores, as threads: 0 in the config"
# info and tokenize without a model use the config's.
demo_path=${YANGTUO_DATADIR:-${YT_SRCDIR:-..}}/data/stories260K.gguf
mkdir -p "$tmp/config2/yangtuo"
printf 'model: "%s"\n' "$demo_path" >"$tmp/config2/yangtuo/config.yaml"
XDG_CONFIG_HOME="$tmp/config2" "$bin" info >"$tmp/out" 2>&1 &&
    grep -q 'llama.block_count' "$tmp/out"
t $? "info with no model shows the config's"
XDG_CONFIG_HOME="$tmp/config2" "$bin" tokenize "Once upon" >"$tmp/out" 2>&1 &&
    grep -q '[0-9]' "$tmp/out"
t $? "and tokenize uses it"

if [ ! -f "$td/models/stories260K.gguf" ]; then
	echo "1..$n # SKIP no test data"; exit $fail
fi

# Greedy ids for every stories260K prompt of the reference (jq-free parse).
while IFS= read -r line; do
	model=$(printf '%s' "$line" | sed 's/.*"model":"\([^"]*\)".*/\1/')
	case $model in stories260K-*) path=$td/models/derived/$model ;; *) path=$td/models/$model ;; esac
	case $model in stories*) ;; *) continue ;; esac
	prompt=$(printf '%s' "$line" | sed 's/.*"prompt_tokens":\[\([0-9,]*\)\].*/\1/')
	want=$(printf '%s' "$line" | sed 's/.*"greedy_tokens":\[\([0-9,]*\)\].*/\1/' | tr ',' ' ')
	got=$("$bin" run -m "$path" --prompt-tokens "$prompt" -n 48 -t 2 2>"$tmp/err")
	[ "$got" = "$want" ]; t $? "run $model [$prompt]: 48 greedy ids as llama.cpp"
done <"$td/reference/llamacpp-reference.jsonl"
grep -q 't/s' "$tmp/err"; t $? "run reports timing on stderr"

"$bin" eval -m "$td/models/stories260K.gguf" --tokens-file "$td/reference/stories/stories260K-00.tokens.json" \
	--probs-out "$tmp/p.f32" 2>/dev/null; t $? "eval exits 0"
[ "$(wc -c <"$tmp/p.f32")" = "$(wc -c <"$td/reference/stories/stories260K-00.probs.f32")" ]
t $? "eval writes n_tokens x n_vocab floats"

"$bin" info "$td/models/stories260K.gguf" >"$tmp/out" 2>&1; t $? "info exits 0"
grep -q 'llama.block_count' "$tmp/out" && grep -q 'F32' "$tmp/out" && grep -q 'KV cache' "$tmp/out"
t $? "info shows metadata, tensor types and memory"

head -c 1000 "$td/models/stories260K.gguf" >"$tmp/trunc.gguf"
"$bin" info "$tmp/trunc.gguf" >"$tmp/out" 2>&1; [ $? = 1 ]; t $? "a truncated model exits 1"
grep -q 'trunc.gguf: ' "$tmp/out"; t $? "and names the file: $(head -1 "$tmp/out")"
"$bin" info /nonexistent.gguf >/dev/null 2>&1; [ $? = 1 ]; t $? "a missing model exits 1"

# Perplexity as llama-perplexity computes it (tests/data/ppl/make.sh made
# the expected value from llama.cpp's distributions).
src=${YT_SRCDIR:-.}
want=$(sed 's/.*"perplexity": *\([0-9.]*\).*/\1/' "$src/tests/data/ppl/expected.json")
got=$("$bin" perplexity -m "$td/models/stories260K.gguf" -f "$src/tests/data/ppl/story.txt" -c 128 -t 2 2>/dev/null |
	sed -n 's/^perplexity: \([0-9.]*\).*/\1/p')
awk -v a="$got" -v b="$want" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; exit !(a != "" && d < 0.002) }'
t $? "perplexity of story.txt: $got, llama.cpp $want (within 0.2%)"

# bench: llama-bench's numbers as JSON; the bandwidth passes (a GiB each,
# one in a child) must not count in the peak RSS of a tiny model.
j=$("$bin" bench -m "$td/models/stories260K.gguf" -t 2 -p 16 -n 8 -r 1 --json --bandwidth 2>/dev/null)
num() { echo "$j" | sed -n "s/.*\"$1\": *\([0-9.]*\).*/\1/p"; }
awk -v pp="$(num pp_tps)" -v tg="$(num tg_tps)" -v b0="$(num read_bandwidth_before)" \
    -v b1="$(num read_bandwidth_after)" -v r="$(num peak_rss_bytes)" -v l="$(num load_s)" \
    'BEGIN { exit !(pp > 0 && tg > 0 && b0 > 1e8 && b1 > 1e8 && r > 0 && r < 512 * 1048576 && l > 0 && l < 60) }'
t $? "bench --json --bandwidth: pp $(num pp_tps) tg $(num tg_tps) t/s, bandwidth $(num read_bandwidth_before) / $(num read_bandwidth_after) B/s, peak RSS $(num peak_rss_bytes) B (< 512 MiB), load $(num load_s) s"
# "kernels" names the path that ran: the AVX-512 VNNI kernels where the
# CPU has them (and they are not turned off), else AVX2.
str() { echo "$1" | sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p"; }
flags=$(grep -m1 '^flags' /proc/cpuinfo)
want=scalar
case $flags in *' avx2 '*) want=avx2 ;; esac
case $flags in *avx512vl*avx512_vnni*|*avx512_vnni*avx512vl*)
	[ $want = avx2 ] && case $flags in *avx512bw*) want=avx512-vnni ;; esac ;;
esac
k1=$(str "$j" kernels)
j2=$(YANGTUO_NO_VNNI=1 "$bin" bench -m "$td/models/stories260K.gguf" -t 2 -p 4 -n 2 -r 1 --json 2>/dev/null)
k2=$(str "$j2" kernels)
[ "$k1" = "$want" ] && { [ "$want" = scalar ] || [ "$k2" = avx2 ]; }
t $? "bench --json names the kernels that ran: $k1 (CPU: $want), $k2 with YANGTUO_NO_VNNI=1"

# quantize: llama-quantize's bytes (tests/t_requant checks every type); its
# failures exit 2 (usage) or 1 and leave no file behind.
k=$td/models/ktest
"$bin" quantize -t 2 "$k/ktest-F16.gguf" "$tmp/q.gguf" Q4_K_M 2>/dev/null &&
	cmp -s "$tmp/q.gguf" "$k/ktest-mix-Q4_K_M.gguf"
t $? "quantize ktest-F16 Q4_K_M: the bytes of llama-quantize's file"
"$bin" quantize "$k/ktest-F16.gguf" "$tmp/u.gguf" Q9_9 2>"$tmp/err"; [ $? = 2 ]
t $? "quantize to an unknown type exits 2"
grep -q "unknown type 'Q9_9'" "$tmp/err"; t $? "and says so: $(head -1 "$tmp/err")"
"$bin" quantize "$td/tokenizer/ggml-vocab-llama-spm.gguf" "$tmp/u.gguf" Q4_0 2>"$tmp/err"; [ $? = 1 ]
t $? "quantize of a vocabulary-only GGUF exits 1"
grep -q "not a model" "$tmp/err"; t $? "and says so: $(head -1 "$tmp/err")"
"$bin" quantize "$k/ktest-F16.gguf" "$tmp/none/u.gguf" Q4_0 2>"$tmp/err"; [ $? = 1 ]
t $? "quantize into a missing folder exits 1"
grep -q "folder $tmp/none" "$tmp/err"; t $? "and names the folder: $(head -1 "$tmp/err")"
! ls "$tmp" | grep -q '^u\.gguf'; t $? "no partial output file is left behind"

# The model file truncated while the chat runs (issue 17 item 4): the
# next read of a lost page is SIGBUS; yangtuo must say so and exit 74,
# not die of the signal.  Loaded (the journal exists), truncated, then
# asked.  The wait is a hang guard, not a time limit on the result.
cp "$td/models/stories260K.gguf" "$tmp/trunc-live.gguf"
rm -f "$tmp/fifo"; mkfifo "$tmp/fifo"
XDG_STATE_HOME=$tmp/st HOME=$tmp "$bin" --plain -m "$tmp/trunc-live.gguf" \
    -n 20 <"$tmp/fifo" >"$tmp/out" 2>"$tmp/err" &
pid=$!
exec 3>"$tmp/fifo"
i=0
while ! ls "$tmp"/st/yangtuo/journal/current-* >/dev/null 2>&1 &&
    kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1; i=$((i+1))
done
truncate -s 4096 "$tmp/trunc-live.gguf"
echo "Once upon a time" >&3
exec 3>&-
wait $pid; r=$?
[ $r = 74 ]; t $? "a model truncated while in use: exit 74, not SIGBUS (status $r)"
grep -q "truncated or changed on disk" "$tmp/err"
t $? "and says so: $(grep -m1 truncated "$tmp/err")"
echo "1..$n"
exit $fail
