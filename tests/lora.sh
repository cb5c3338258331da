#!/bin/sh
# LoRA adapters from the command line: info lists them, eval with scale 0
# is the base model, --lora-merge at load and quantize --lora write the
# same weights, bad adapters and scales get clear errors, the chat's
# /stats and the config's lora: list.  The adapter is t_lora's (tests/
# lora_tb.h); its numbers against llama.cpp are t_lora's business.  TAP.
bin=${YT_BIN:-./yangtuo}
tl=$(dirname "$bin")/tests/t_lora
td=${YT_TESTDATA:-../shared/testdata}
m=$td/models/stories260K.gguf
toks=${YT_SRCDIR:-$(dirname "$0")/..}/tests/data/ref/stories-b.tokens.json
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
diag() { sed 's/^/# /' "$@"; }

if [ ! -f "$m" ] || [ ! -x "$tl" ]; then
	echo "1..0 # SKIP no test data or no tests/t_lora"; exit 0
fi
YT_TESTDATA=$td "$tl" --write stories "$tmp/a.gguf" >/dev/null
t $? "t_lora writes the test adapter"
ev() { "$bin" eval -m "$m" --tokens-file "$toks" --probs-out "$@"; }

"$bin" info --lora "$tmp/a.gguf:0.75" "$m" >"$tmp/out" 2>&1
grep -q "^lora: $tmp/a.gguf: scale 0.75, alpha 8, rank 4, 36 matrices (72 tensors)$" "$tmp/out"
t $? "info lists the adapter: path, scale, alpha, rank, tensors"
ev "$tmp/base.f32" && ev "$tmp/zero.f32" --lora "$tmp/a.gguf:0" &&
    cmp -s "$tmp/base.f32" "$tmp/zero.f32"
t $? "eval --lora FILE:0 is the base model"
ev "$tmp/fly.f32" --lora "$tmp/a.gguf:0.75" && ! cmp -s "$tmp/base.f32" "$tmp/fly.f32"
t $? "eval --lora changes the distributions"
ev "$tmp/merged.f32" --lora "$tmp/a.gguf:0.75" --lora-merge &&
    "$bin" quantize --lora "$tmp/a.gguf:0.75" "$m" "$tmp/m.gguf" F32 2>/dev/null &&
    ev "$tmp/file.f32" -m "$tmp/m.gguf" && cmp -s "$tmp/merged.f32" "$tmp/file.f32"
t $? "quantize --lora writes the weights --lora-merge makes at load"

"$bin" eval -m "$m" --lora "$tmp/none.gguf" --tokens-file "$toks" --probs-out "$tmp/x" 2>"$tmp/err"
[ $? = 1 ] && grep -q "adapter $tmp/none.gguf: No such file or directory" "$tmp/err"
t $? "a missing adapter: exit 1 naming it"; diag "$tmp/err"
"$bin" eval -m "$m" --lora "$m" --tokens-file "$toks" --probs-out "$tmp/x" 2>"$tmp/err"
[ $? = 1 ] && grep -q "key 'general.type' is missing" "$tmp/err"
t $? "a model given as an adapter is refused"
"$bin" -m "$m" --lora "$tmp/a.gguf:0.5x" -p hi >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "bad scale '0.5x'" "$tmp/err"
t $? "a bad scale: usage error"; diag "$tmp/err"
"$bin" -m "$m" --lora "$tmp/none.gguf" -p hi -n 2 >/dev/null 2>"$tmp/err"
[ $? = 1 ] && grep -q "adapter $tmp/none.gguf" "$tmp/err"
t $? "the chat names a missing adapter"; diag "$tmp/err"

: >"$tmp/empty.yaml"
printf '/stats\n/quit\n' | "$bin" -m "$m" --lora "$tmp/a.gguf:0.5" --plain \
    --config "$tmp/empty.yaml" >"$tmp/out" 2>&1
grep -q "LoRA adapter: $tmp/a.gguf (scale 0.5, rank 4, 72 tensors)" "$tmp/out"
t $? "/stats shows the adapter"
printf 'lora:\n  - %s:0.25\nlora_merge: true\n' "$tmp/a.gguf" >"$tmp/c.yaml"
printf '/stats\n/quit\n' | "$bin" -m "$m" --plain --config "$tmp/c.yaml" >"$tmp/out" 2>&1
grep -q "LoRA adapter: $tmp/a.gguf (scale 0.25, rank 4, 72 tensors, merged)" "$tmp/out"
t $? "the config's lora: list and lora_merge: reach the engine"
echo "1..$n"
exit $fail
