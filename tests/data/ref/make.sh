#!/bin/sh
# Regenerate the llama.cpp reference values in this folder (run by hand,
# never by the tests): token sequences = BOS + prompt + 48 greedy tokens of
# llama.cpp, and llama.cpp's next-token distributions over them, from the
# pinned reference (../shared/reference/setup: node-llama-cpp 3.22.1,
# llama.cpp v0.5.0).
#   cd tests/data/ref && ./make.sh
# NAME.probs.f32 comes from the reference as installed: on an AVX-512 CPU
# its AVX-512 build, which the engine's VNNI paths mirror.  NAME.avx2.probs.f32
# comes from its AVX2-only copy ($YT_REF-avx2), which the AVX2 paths mirror;
# it is kept only where it differs.  t_forward takes the one for its path.
set -eu
ref=${REF:-../../../../shared/reference/llamacpp-ref.mjs}
yref=${YT_REF:-$HOME/.cache/yangtuo-ref}
td=${YT_TESTDATA:-../../../../shared/testdata}
seq() {	# name model prompt
	YT_REF=$yref node "$ref" generate "$2" "$3" 48 |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(JSON.stringify([...o.prompt_tokens,...o.tokens]))})' >"$1.tokens.json"
}
probs() {	# name model tokens
	YT_REF=$yref node "$ref" probs "$2" "$3" "$1.probs.f32" >/dev/null
	YT_REF=$yref-avx2 node "$ref" probs "$2" "$3" "$1.avx2.probs.f32" >/dev/null
	if cmp -s "$1.probs.f32" "$1.avx2.probs.f32"; then rm "$1.avx2.probs.f32"; fi
}
seq stories-b "$td/models/stories260K.gguf" "The little dog"
for m in stories260K derived/stories260K-F16 derived/stories260K-Q8_0 derived/stories260K-Q4_0; do
	probs "$(basename $m)-b" "$td/models/$m.gguf" stories-b.tokens.json
done
seq ktest-b "$td/models/ktest/ktest-F32.gguf" "Tom and Lily went to the park"
for t in F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K; do
	probs "ktest-$t-b" "$td/models/ktest/ktest-$t.gguf" ktest-b.tokens.json
done
# Decode: 300 tokens (the first of t_sweep's random sequence) one at a
# time, as llama.cpp generates: past 256 keys a lone token's attention is
# split across threads (2 here, as t_forward runs), and F16/BF16 weights
# take vec_dot instead of tinyBLAS.
node -e 'const b=require("fs").readFileSync("../sweep/ktest-F16.bin");const h=new Uint32Array(b.buffer,b.byteOffset,4+512+513);console.log(JSON.stringify(Array.from(h.slice(4+512,4+512+300))))' >ktest-d.tokens.json
for t in F16 BF16 Q4_0; do
	YT_REF=$yref node "$ref" probs "$td/models/ktest/ktest-$t.gguf" ktest-d.tokens.json "ktest-$t-d.probs.f32" --batch 1 >/dev/null
	YT_REF=$yref-avx2 node "$ref" probs "$td/models/ktest/ktest-$t.gguf" ktest-d.tokens.json "ktest-$t-d.avx2.probs.f32" --batch 1 >/dev/null
	if cmp -s "ktest-$t-d.probs.f32" "ktest-$t-d.avx2.probs.f32"; then rm "ktest-$t-d.avx2.probs.f32"; fi
done
# LoRA: t_lora writes each case's random adapter (tests/lora_tb.h) and
# prints its model and scale; llama.cpp applies it with --lora.
tl=${T_LORA:-../../../b/tests/t_lora}
tmp=$(mktemp -d)
lora() {	# case tokens out
	set -- "$1" "$2" "$3" $(YT_TESTDATA=$td "$tl" --write "$1" "$tmp/$1.gguf")
	YT_REF=$yref node "$ref" probs "$td/models/$4" "$2" "$3.probs.f32" --lora "$tmp/$1.gguf:$5" >/dev/null
	YT_REF=$yref-avx2 node "$ref" probs "$td/models/$4" "$2" "$3.avx2.probs.f32" --lora "$tmp/$1.gguf:$5" >/dev/null
	if cmp -s "$3.probs.f32" "$3.avx2.probs.f32"; then rm "$3.avx2.probs.f32"; fi
}
lora stories stories-b.tokens.json stories260K-lora-b
lora ktest ktest-b.tokens.json ktest-Q8_0-lora-b
lora ktest4 ktest-b.tokens.json ktest-Q4_0-lora-b
rm -r "$tmp"
sha256sum *.json *.f32 >SHA256SUMS
