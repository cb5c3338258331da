#!/bin/sh
# Hugging Face folders through the yangtuo binary: ktest-F16.gguf written
# as an HF folder (tests/t_hf --make) must give llama.cpp's distributions
# (mean KL <= 1e-5) with eval -m DIR, and the same as the GGUF file; quantize
# DIR must write a file whose distributions match what llama.cpp computed on
# that very file (tests/data/hf/make.sh); the real Llama-3 tokenizer.json
# must give the GGUF vocabulary's ids on every llama-bpe test string; bad
# folders are clear errors.  TAP output.
bin=${YT_BIN:-./yangtuo}
thf=${YT_THF:-./tests/t_hf}
td=${YT_TESTDATA:-../shared/testdata}
src=${YT_SRCDIR:-.}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

if [ ! -f "$td/models/ktest/ktest-F16.gguf" ] || [ ! -f "$td/hf/llama3/tokenizer.json" ]; then
	echo "1..0 # SKIP no test data"; exit 0
fi
toks=$td/reference/ktest/tokens.json
# kl REF OURS: true if mean KL <= 1e-5 and top-1 agrees everywhere.
kl() {
	r=$("$thf" --kl "$1" "$2" 512) || return 1
	echo "# KL mean, max, top-1: $r"
	echo "$r" | awk '{ split($3, a, "/"); exit !($1 <= 1e-5 && a[1] == a[2]) }'
}

"$thf" --make "$td/models/ktest/ktest-F16.gguf" "$tmp/ktest-hf" F16 --shards 2
t $? "ktest-F16 written as a two-shard F16 HF folder"
"$bin" eval -m "$tmp/ktest-hf" --tokens-file "$toks" --probs-out "$tmp/dir.f32" 2>"$tmp/err"
t $? "eval -m DIR exits 0"
"$bin" eval -m "$td/models/ktest/ktest-F16.gguf" --tokens-file "$toks" --probs-out "$tmp/gguf.f32" 2>/dev/null
cmp -s "$tmp/dir.f32" "$tmp/gguf.f32"; t $? "eval -m DIR equals eval -m the GGUF file, bit for bit"
kl "$td/reference/ktest/ktest-F16.probs.f32" "$tmp/dir.f32"
t $? "eval -m DIR within mean KL 1e-5 of llama.cpp"

# llama-quantize made ktest-BF16.gguf from ktest-F16.gguf; a BF16 folder
# rounds the same way, so computes as that file does.
"$thf" --make "$td/models/ktest/ktest-F16.gguf" "$tmp/kbf" BF16
"$bin" eval -m "$tmp/kbf" --tokens-file "$toks" --probs-out "$tmp/bf.f32" 2>/dev/null
"$bin" eval -m "$td/models/ktest/ktest-BF16.gguf" --tokens-file "$toks" --probs-out "$tmp/bfg.f32" 2>/dev/null
cmp -s "$tmp/bf.f32" "$tmp/bfg.f32"; t $? "a BF16 folder computes as llama.cpp's ktest-BF16.gguf does in yangtuo"

"$bin" quantize "$tmp/ktest-hf" "$tmp/q.gguf" Q4_K_M >/dev/null 2>&1
t $? "quantize DIR OUT.gguf Q4_K_M"
want=$(sed 's/ .*//' "$src/tests/data/hf/SHA256SUMS")
[ "$(sha256sum <"$tmp/q.gguf" | sed 's/ .*//')" = "$want" ]
t $? "the Q4_K_M file is the one llama.cpp was run on (else rerun tests/data/hf/make.sh)"
"$bin" eval -m "$tmp/q.gguf" --tokens-file "$toks" --probs-out "$tmp/q.f32" 2>/dev/null
kl "$src/tests/data/hf/ktest-hf-Q4_K_M.probs.f32" "$tmp/q.f32"
t $? "eval on it within mean KL 1e-5 of llama.cpp on it"
"$bin" quantize "$tmp/ktest-hf" "$tmp/f16.gguf" F16 >/dev/null 2>&1 &&
	"$bin" eval -m "$tmp/f16.gguf" --tokens-file "$toks" --probs-out "$tmp/f16.f32" 2>/dev/null
cmp -s "$tmp/f16.f32" "$tmp/gguf.f32"; t $? "quantize DIR F16 computes as the original GGUF file"

# The real Llama-3 tokenizer.json in a small random-weight folder.
"$thf" --make random:128256 "$tmp/l3" BF16 --tokenizer "$td/hf/llama3/tokenizer.json" \
	--tokenizer-config "$td/tokenizer/llama3-tokenizer_config.json" \
	--gen '{"bos_token_id":128000,"eos_token_id":[128001,128009]}'
for c in ggml-vocab-llama-bpe.gguf llama3-extra ruozhiba-llama3-public; do
	"$bin" tokenize -m "$tmp/l3" --cases "$td/tokenizer/$c.inp" >"$tmp/tok.out" 2>"$tmp/err"
	cmp -s "$tmp/tok.out" "$td/tokenizer/$c.out"
	t $? "tokenizer.json gives the GGUF vocabulary's ids on $c.inp"
done
"$bin" quantize "$tmp/l3" "$tmp/l3.gguf" F16 >/dev/null 2>&1 &&
	"$bin" info "$tmp/l3.gguf" >"$tmp/out" 2>&1 && grep -q 'tokenizer.ggml.pre  *"llama-bpe"' "$tmp/out" &&
	grep -q 'tokenizer.chat_template  *"{% set loop_messages' "$tmp/out" &&
	grep -q 'tokenizer.ggml.merges  *\[STRING x 280147\]' "$tmp/out"
t $? "quantize DIR writes the pre-tokenizer, merges and chat template"
"$bin" info "$tmp/l3" >"$tmp/out" 2>&1 && grep -q 'eos_token_id  *128001' "$tmp/out" &&
	grep -q 'eot_token_id  *128009' "$tmp/out" && grep -q 'bos_token_id  *128000' "$tmp/out"
t $? "info DIR: bos and eos from tokenizer_config.json, eot from generation_config.json"
"$bin" -m "$tmp/l3" -p "hello" -n 2 --seed 1 >/dev/null 2>"$tmp/err"
t $? "one-shot -p with -m DIR"
"$bin" bench -m "$tmp/l3" -t 1 -p 8 -n 2 -r 1 >/dev/null 2>&1
t $? "bench -m DIR"

# Llama 2 style: tokenizer.json as SentencePiece BPE with byte fallback,
# written from the GGUF vocabularies (merges from the scores, as HF does).
"$thf" --make "$td/models/llama-2-tiny-random.gguf" "$tmp/l2" F16
for c in ggml-vocab-llama-spm.gguf llama2-extra; do
	"$bin" tokenize -m "$tmp/l2" --cases "$td/tokenizer/$c.inp" >"$tmp/tok.out" 2>"$tmp/err"
	cmp -s "$tmp/tok.out" "$td/tokenizer/$c.out"
	t $? "a Llama 2 tokenizer.json gives the GGUF vocabulary's ids on $c.inp"
done
echo '[1, 15043, 3186, 29991, 306, 626]' >"$tmp/l2.json"
"$bin" eval -m "$tmp/l2" --tokens-file "$tmp/l2.json" --probs-out "$tmp/l2a.f32" 2>/dev/null
"$bin" eval -m "$td/models/llama-2-tiny-random.gguf" --tokens-file "$tmp/l2.json" --probs-out "$tmp/l2b.f32" 2>/dev/null
cmp -s "$tmp/l2a.f32" "$tmp/l2b.f32"; t $? "llama-2-tiny-random as a folder evaluates as the GGUF file"
"$thf" --make "$td/models/stories260K.gguf" "$tmp/s260" F32
while IFS= read -r line; do
	case $line in *'"model":"stories260K.gguf"'*) ;; *) continue ;; esac
	prompt=$(printf '%s' "$line" | sed 's/.*"prompt":"\([^"]*\)".*/\1/')
	want=$(printf '%s' "$line" | sed 's/.*"greedy_tokens":\[\([0-9,]*\)\].*/\1/' | tr ',' ' ')
	got=$("$bin" run -m "$tmp/s260" --prompt "$prompt" -n 48 -t 2 2>/dev/null)
	[ "$got" = "$want" ]; t $? "stories260K as a folder: '$prompt' gives llama.cpp's 48 greedy ids"
done <"$td/reference/llamacpp-reference.jsonl"

# Bad folders.
cp -r "$tmp/l3" "$tmp/tmpl"
printf '{"bos_token":"<|begin_of_text|>","chat_template":"{%% for m in messages %%}<start_of_turn>{{ m.content }}{%% endfor %%}"}' \
	>"$tmp/tmpl/tokenizer_config.json"
"$bin" -m "$tmp/tmpl" -p hi -n 1 >/dev/null 2>"$tmp/err"; r=$?
[ $r != 0 ] && grep -q 'choose one with --template' "$tmp/err"
t $? "an unknown chat template names --template: $(cat "$tmp/err")"
"$bin" -m "$tmp/tmpl" --template llama3 -p hi -n 1 >/dev/null 2>&1
t $? "and --template llama3 chats"
sed 's/LlamaForCausalLM/MistralForCausalLM/' "$tmp/l3/config.json" >"$tmp/c" && mv "$tmp/c" "$tmp/l3/config.json"
"$bin" info "$tmp/l3" >"$tmp/out" 2>&1; r=$?
[ $r = 1 ] && grep -q "config.json: architecture 'MistralForCausalLM' is not supported" "$tmp/out"
t $? "a Mistral folder: $(head -1 "$tmp/out")"
rm "$tmp/ktest-hf/model-00001-of-00002.safetensors"
"$bin" eval -m "$tmp/ktest-hf" --tokens-file "$toks" --probs-out "$tmp/x.f32" >/dev/null 2>"$tmp/err"; r=$?
[ $r != 0 ] && grep -q 'shard model-00001-of-00002.safetensors is missing' "$tmp/err"
t $? "a missing shard: $(head -1 "$tmp/err")"
echo "1..$n"
exit $fail
