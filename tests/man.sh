#!/bin/sh
# The manual pages: groff renders them without a warning, and every option
# that --help lists is documented in yangtuo(1).  TAP output.
src=${YT_SRCDIR:-$(dirname "$0")/..}
bin=${YT_BIN:-./yangtuo}
man_dir=$(dirname "$bin")/man	# built from man/*.in with the paths
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

if ! command -v groff >/dev/null 2>&1; then
	echo "1..0 # SKIP groff not installed"; exit 0
fi
for page in yangtuo.1 yangtuo.yaml.5; do
	# "cannot adjust line": a long install prefix (distcheck's) in
	# FILES cannot be justified; it depends on the prefix, not the page.
	w=$(groff -ww -man -Tutf8 "$man_dir/$page" 2>&1 >/dev/null |
	    grep -v 'cannot adjust line')
	[ -z "$w" ]; t $? "groff -ww -man $page: no warnings"
	[ -n "$w" ] && echo "$w" | head -5 | sed 's/^/# /'
done
man=$(sed 's/\\-/-/g' "$man_dir/yangtuo.1")
for opt in $("$bin" --help | grep -oE -- '--[a-z][a-z_-]+' | sort -u); do
	printf '%s\n' "$man" | grep -q -- "$opt"
	t $? "$opt is in yangtuo(1)"
done
for cmd in run eval info tokenize bench perplexity quantize; do
	printf '%s\n' "$man" | grep -q "^\.B $cmd "
	t $? "the $cmd command is in yangtuo(1)"
done
grep -n '@[a-z]*dir@' "$man_dir/yangtuo.1" "$man_dir/yangtuo.yaml.5" >"${TMPDIR:-/tmp}/man.$$" 2>&1
[ ! -s "${TMPDIR:-/tmp}/man.$$" ]; t $? "the pages name the configured folders (no @dir@ left)"
sed 's/^/# /' "${TMPDIR:-/tmp}/man.$$"; rm -f "${TMPDIR:-/tmp}/man.$$"
sed 's/\\-/-/g' "$man_dir/yangtuo.1" | grep -A3 '^\.B TERM' | grep -q 'line chat'
t $? "TERM=dumb is documented as the line chat (tui.sh checks the fallback)"
echo "1..$n"
exit $fail
