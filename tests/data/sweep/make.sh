#!/bin/sh
# Regenerate llama.cpp's rows for tests/t_sweep.c (run by hand, never by
# the tests; needs ../shared/reference/setup, llama.cpp v0.5.0):
#   cd tests/data/sweep && ./make.sh [NAME-FILTER]
# NAME.bin comes from the reference as installed (on an AVX-512 CPU its
# AVX-512 builds); NAME.avx2.bin from the AVX2-only copy, kept only where
# it differs from NAME.bin (t_sweep checks the AVX2 paths against it).
set -eu
ref=${YT_REF:-$HOME/.cache/yangtuo-ref}
td=${YT_TESTDATA:-../../../../shared/testdata}
for m in $(cd "$td/models" && find . -name '*.gguf' | sort); do
	name=$(basename "$m" .gguf)
	case $name in *${1:-}*) ;; *) continue ;; esac
	YT_REF=$ref node ref.mjs "$td/models/$m" "$name.bin"
	YT_REF=$ref-avx2 node ref.mjs "$td/models/$m" "$name.avx2.bin"
	if cmp -s "$name.bin" "$name.avx2.bin"; then rm "$name.avx2.bin"; fi
done
sha256sum *.bin >SHA256SUMS
