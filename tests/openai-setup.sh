#!/bin/sh
# Installs the official OpenAI client library (npm "openai", pinned; no
# dependencies) into $YT_OPENAI (default ~/.cache/yangtuo-openai) for
# tests/serve.sh.  Like ../shared/reference/setup: nothing is built, and
# a second run with the pinned version in place does nothing.
set -eu
pin=5.23.2
dir=${YT_OPENAI:-$HOME/.cache/yangtuo-openai}
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    "$dir/node_modules/openai/package.json" 2>/dev/null | head -1)
if [ "$have" = "$pin" ]; then
	echo "openai $pin already in $dir"; exit 0
fi
command -v npm >/dev/null ||
	{ echo "openai-setup: npm not found (apt-get install -y nodejs npm)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"private":true}' > package.json
npm install --no-audit --no-fund --save-exact openai@$pin >install.log 2>&1 ||
	{ echo "openai-setup: npm install failed, see $dir/install.log" >&2; exit 1; }
echo "openai $pin${have:+ (was $have)} installed in $dir"
