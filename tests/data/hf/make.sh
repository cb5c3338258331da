#!/bin/sh
# Regenerate llama.cpp's distributions on `yangtuo quantize DIR` output
# (run by hand from this folder, after a build in ../../../b; needs
# ../../../../shared/reference/setup).  The folder is ktest-F16.gguf written
# as a Hugging Face folder by tests/t_hf --make; quantizing it is
# deterministic, so tests/hf.sh rebuilds the same file and compares our
# eval on it with what llama.cpp computed here.
set -eu
b=${BUILD:-../../../b}
ref=${REF:-../../../../shared/reference/llamacpp-ref.mjs}
td=${YT_TESTDATA:-../../../../shared/testdata}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$b/tests/t_hf" --make "$td/models/ktest/ktest-F16.gguf" "$tmp/ktest-hf" F16 --shards 2
"$b/yangtuo" quantize "$tmp/ktest-hf" "$tmp/q.gguf" Q4_K_M
node "$ref" probs "$tmp/q.gguf" "$td/reference/ktest/tokens.json" ktest-hf-Q4_K_M.probs.f32
sha256sum "$tmp/q.gguf" | sed 's,  .*,  ktest-hf-Q4_K_M.gguf,' >SHA256SUMS
