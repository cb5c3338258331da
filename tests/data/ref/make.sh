#!/bin/sh
# Regenerate the llama.cpp reference values in this folder (run by hand,
# never by the tests): token sequences = BOS + prompt + 48 greedy tokens of
# llama.cpp, and llama.cpp's next-token distributions over them.
#   cd tests/data/ref && ./make.sh     (needs ../shared/reference/setup)
set -eu
ref=${REF:-../../../../shared/reference/llamacpp-ref.mjs}
td=${YT_TESTDATA:-../../../../shared/testdata}
# llama.cpp's CPU library loads the build that suits the CPU best (the
# AVX-512 "zen4" one here, which adds in other orders and repacks Q2_K);
# avx2only.c makes it load the AVX2 "haswell" build, which the engine
# mirrors and with which ../shared/testdata/reference was made.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -shared -fPIC -o "$tmp/avx2only.so" avx2only.c -ldl
export LD_PRELOAD="$tmp/avx2only.so"
seq() {	# name model prompt
	node "$ref" generate "$2" "$3" 48 |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);console.log(JSON.stringify([...o.prompt_tokens,...o.tokens]))})' >"$1.tokens.json"
}
probs() {	# name model tokens
	node "$ref" probs "$2" "$3" "$1.probs.f32" >/dev/null
}
seq stories-b "$td/models/stories260K.gguf" "The little dog"
for m in stories260K derived/stories260K-F16 derived/stories260K-Q8_0 derived/stories260K-Q4_0; do
	probs "$(basename $m)-b" "$td/models/$m.gguf" stories-b.tokens.json
done
seq ktest-b "$td/models/ktest/ktest-F32.gguf" "Tom and Lily went to the park"
for t in F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K; do
	probs "ktest-$t-b" "$td/models/ktest/ktest-$t.gguf" ktest-b.tokens.json
done
sha256sum *.json *.f32 >SHA256SUMS
