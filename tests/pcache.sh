#!/bin/sh
# The prompt cache: a new process finds the system prompt's K/V on disk
# and answers exactly as without it; damaged, truncated and foreign
# entries are passed over and rewritten; the size bound removes the least
# recently used; --no-prompt-cache writes nothing.  TAP output.
bin=${YT_BIN:-./yangtuo}
td=${YT_TESTDATA:-../shared/testdata}
m=$td/models/llama-2-tiny-random.gguf
m2=$td/models/stories260K.gguf
if [ ! -f "$m" ] || [ ! -f "$m2" ]; then
	echo "1..0 # SKIP no test data"; exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
dir=$XDG_CACHE_HOME/yangtuo/prompts
sys="You are a careful assistant. Answer in full sentences, cite what you use."
# ask MODEL SYSTEM [FLAGS]: a greedy reply into $tmp/out, the log in $tmp/log
ask() {
	mm=$1 ss=$2; shift 2
	rm -f "$tmp/log"
	"$bin" -m "$mm" -t 2 --temp 0 -n 24 --template llama3 --system "$ss" \
	    -p "What is a llama?" --log-file "$tmp/log" "$@" >"$tmp/out" 2>&1
}
entries() { ls "$dir" 2>/dev/null | grep -c '^[0-9a-f]*\.kv$'; }

ask "$m" "$sys" --no-prompt-cache; r=$?
cp "$tmp/out" "$tmp/want"
[ $r = 0 ] && [ ! -e "$dir" ]; t $? "--no-prompt-cache writes nothing"
ask "$m" "$sys"
[ "$(entries)" = 1 ] && grep -q 'prompt cache: [0-9]* tokens saved' "$tmp/log"
t $? "a new system prompt is saved once evaluated"
cmp -s "$tmp/out" "$tmp/want"; t $? "and the reply is the one without the cache"
f=$(ls "$dir"/*.kv)
cp "$f" "$tmp/good"
ask "$m" "$sys"
grep -q 'prompt cache: [0-9]* tokens from disk' "$tmp/log"
t $? "a new process reads the system prompt from disk"
cmp -s "$tmp/out" "$tmp/want"; t $? "and gives the same greedy reply, byte for byte"

# Another build of yangtuo (here: one byte more) may compute otherwise:
# it does not read this one's entries.
cp "$bin" "$tmp/other-yangtuo" && printf x >>"$tmp/other-yangtuo"
bin0=$bin; bin=$tmp/other-yangtuo
ask "$m" "$sys"
bin=$bin0
! grep -q 'tokens from disk' "$tmp/log" && cmp -s "$tmp/out" "$tmp/want"
t $? "another build of yangtuo does not read the entry"
rm -f "$tmp/other-yangtuo"

# Quantized weights too: the reply read from the cache is the reply
# evaluated without it.
for q in "$td/models/ktest/ktest-Q4_K.gguf" "$td/models/ktest/ktest-Q8_0.gguf" \
    "$td/models/derived/stories260K-Q4_0.gguf"; do
	[ -f "$q" ] || continue
	ask "$q" "$sys" --no-prompt-cache; cp "$tmp/out" "$tmp/qwant"
	ask "$q" "$sys"; ask "$q" "$sys"
	grep -q 'tokens from disk' "$tmp/log" && cmp -s "$tmp/out" "$tmp/qwant"
	t $? "$(basename "$q"): read from the cache, the same greedy reply"
done

# A long pasted message comes again in a new chat: read up to its end.
doc=$(head -n 40 "$td/corpus/ruozhiba-questions.txt")
ask "$m" "$sys" -n 4 -p "$doc"
ask "$m" "$sys" -n 4 -p "$doc"
k=$(sed -n 's/.*prompt cache: \([0-9]*\) tokens from disk.*/\1/p' "$tmp/log")
[ -n "$k" ] && [ "$k" -gt 512 ]; t $? "a long pasted message is read from disk in a new chat ($k tokens)"
rm -f "$dir"/*.kv
cp "$tmp/good" "$f"

# damage DESC CMD: the entry spoilt by CMD is passed over, then rewritten.
damage() {
	cp "$tmp/good" "$f" && eval "$2"
	ask "$m" "$sys"
	grep -q 'evaluated instead' "$tmp/log" && cmp -s "$tmp/out" "$tmp/want" &&
	    cmp -s "$f" "$tmp/good"
	t $? "$1: ignored, the same reply, and the entry written again"
}
size=$(wc -c <"$tmp/good")
damage "a flipped byte" "printf 'Z' | dd of=\"\$f\" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null"
damage "a truncated entry" "head -c $((size - 9)) \"\$tmp/good\" >\"\$f\""
damage "an empty file" ": >\"\$f\""
# Another model's entry under this one's name.
ask "$m2" "$sys" --no-prompt-cache
ask "$m2" "$sys"
other=$(ls -t "$dir"/*.kv | head -1)
damage "another model's entry" "cp \"\$other\" \"\$f\""

# The size bound: two entries do not fit, the older goes.
rm -rf "$dir"
mkdir -p "$XDG_CONFIG_HOME/yangtuo"
printf 'prompt_cache_size: %dK\n' $(( (size + 1023) / 1024 + 1 )) \
    >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
ask "$m" "$sys"
sleep 1
ask "$m" "Another system prompt, as long as the first one, to fill the cache."
[ "$(entries)" = 1 ]; t $? "prompt_cache_size: the folder keeps to its bound"
ask "$m" "$sys"
! grep -q 'tokens from disk' "$tmp/log"; t $? "the least recently used entry went"
printf 'prompt_cache_size: 1K\n' >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
ask "$m" "A third system prompt, one the cache has not seen before now."
[ "$(entries)" = 1 ] && grep -q 'take more than' "$tmp/log"
t $? "an entry larger than the bound is not saved, and pushes none out"
printf 'prompt_cache: false\n' >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
rm -rf "$dir"
ask "$m" "$sys"
[ ! -e "$dir" ]; t $? "prompt_cache: false in the config writes nothing"
printf 'prompt_cache_size: 12 parsecs\n' >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
ask "$m" "$sys"; r=$?
[ $r = 78 ] && grep -q 'prompt_cache_size' "$tmp/out"
t $? "a bad prompt_cache_size is a config error"
rm -f "$XDG_CONFIG_HOME/yangtuo/config.yaml"

# Two processes saving the same entry at once leave one whole entry.
rm -rf "$dir"
ask "$m" "$sys" & ask "$m" "$sys"; wait
[ "$(entries)" = 1 ] && [ -z "$(ls "$dir" | grep -v '\.kv$')" ] &&
    cmp -s "$dir"/*.kv "$tmp/good"
t $? "two processes racing leave one whole entry and no temporary file"

echo "1..$n"
exit $fail
