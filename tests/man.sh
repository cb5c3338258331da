#!/bin/sh
# The manual pages: groff renders them without a warning, and every option
# that --help lists is documented in yangtuo(1).  TAP output.
src=${YT_SRCDIR:-$(dirname "$0")/..}
bin=${YT_BIN:-./yangtuo}
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

if ! command -v groff >/dev/null 2>&1; then
	echo "1..0 # SKIP groff not installed"; exit 0
fi
for page in yangtuo.1 yangtuo.yaml.5; do
	w=$(groff -ww -man -Tutf8 "$src/man/$page" 2>&1 >/dev/null)
	[ -z "$w" ]; t $? "groff -ww -man $page: no warnings"
	[ -n "$w" ] && echo "$w" | head -5 | sed 's/^/# /'
done
man=$(sed 's/\\-/-/g' "$src/man/yangtuo.1")
for opt in $("$bin" --help | grep -oE -- '--[a-z][a-z_-]+' | sort -u); do
	printf '%s\n' "$man" | grep -q -- "$opt"
	t $? "$opt is in yangtuo(1)"
done
for cmd in run eval info tokenize bench perplexity quantize; do
	printf '%s\n' "$man" | grep -q "^\.B $cmd "
	t $? "the $cmd command is in yangtuo(1)"
done
echo "1..$n"
exit $fail
