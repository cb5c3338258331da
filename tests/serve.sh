#!/bin/sh
# yangtuo serve against real clients: the official OpenAI library (npm
# "openai", installed by tests/openai-setup.sh into $YT_OPENAI) streams
# and fetches chat completions from a server on a free loopback port and
# must get the text `yangtuo -p` prints at temperature 0; the API key,
# the queue's 503, a client that goes away mid-stream, a bounded load
# test and SIGTERM (exit 0, the reply under way ends its stream).  The
# protocol checks are in tests/serve.mjs.  TAP output.
bin=${YT_BIN:-./yangtuo}
src=${YT_SRCDIR:-$(dirname "$0")/..}
oai=${YT_OPENAI:-$HOME/.cache/yangtuo-openai}
tmp=$(mktemp -d) || exit 1
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

# No user config: the server's and -p's defaults are the built-in ones.
XDG_CONFIG_HOME=$tmp/cfg; export XDG_CONFIG_HOME
XDG_STATE_HOME=$tmp/state; export XDG_STATE_HOME
XDG_DATA_HOME=$tmp/data; export XDG_DATA_HOME

"$bin" serve --help >"$tmp/out" 2>&1 && grep -q '^Usage: yangtuo serve' "$tmp/out"
t $? "serve --help exits 0 with its usage"
"$bin" serve --port 70000 >/dev/null 2>&1; [ $? = 2 ]; t $? "serve: a bad --port exits 2"
env -u YT_NO_SUCH_KEY "$bin" serve --api-key-env YT_NO_SUCH_KEY --port 0 \
	>/dev/null 2>"$tmp/err"; [ $? = 1 ] && grep -q YT_NO_SUCH_KEY "$tmp/err"
t $? "serve: an unset --api-key-env variable is an error naming it"

if ! command -v node >/dev/null 2>&1 || [ ! -f "$oai/node_modules/openai/package.json" ]; then
	echo "# node or the openai package is missing (run tests/openai-setup.sh)"
	echo "1..$n"; exit $fail
fi

# Start a server; sets pid and port.  Its first stderr line names the URL.
start() {
	: >"$tmp/serve.err"
	"$bin" serve --port 0 --log-file "$tmp/$log" "$@" 2>"$tmp/serve.err" &
	pid=$!
	i=0
	while [ $i -lt 200 ] && ! grep -q '/v1$' "$tmp/serve.err"; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05; i=$((i+1))
	done
	port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/v1$|\1|p' "$tmp/serve.err")
	[ -n "$port" ]
}
# SIGTERM the server: its exit status.
stop() {
	kill -TERM "$pid" 2>/dev/null; wait "$pid"; r=$?; pid=; return $r
}

prompt="Once upon a time"
want=$("$bin" -p "$prompt" --temp 0 -n 40 2>/dev/null)
[ -n "$want" ]; t $? "yangtuo -p answers at temperature 0"
printf '%s' "$want" >"$tmp/want.txt"

YT_KEY_FOR_TEST=sk-test-$$; export YT_KEY_FOR_TEST
log=serve1.log
start --queue 0 --api-key-env YT_KEY_FOR_TEST; t $? "serve starts on a free loopback port"
YT_OPENAI=$oai YT_PORT=$port YT_KEY=$YT_KEY_FOR_TEST YT_PROMPT=$prompt \
	YT_WANT_FILE=$tmp/want.txt YT_PHASE=api node "$src/tests/serve.mjs" >"$tmp/tap" 2>&1
r=$?
while IFS= read -r l; do
	case $l in
	"ok "*) t 0 "${l#ok [0-9]* - }" ;;
	"not ok "*) t 1 "${l#not ok [0-9]* - }" ;;
	"#"*) echo "$l" ;;
	*) echo "# $l" ;;
	esac
done <"$tmp/tap"
[ $r = 0 ]; t $? "serve.mjs (api) ran to its end"
grep -q 'client gone, cancelling' "$tmp/serve1.log"; t $? "a client gone mid-stream cancels the reply"
! grep -qF "$YT_KEY_FOR_TEST" "$tmp/serve1.log" "$tmp/serve.err"; t $? "the key is in no log"
stop; t $? "SIGTERM: the idle server exits 0"

log=serve2.log
start --queue 4; t $? "serve starts again (queue 4, no key)"
YT_OPENAI=$oai YT_PORT=$port YT_PID=$pid YT_PROMPT=$prompt YT_PHASE=load \
	node "$src/tests/serve.mjs" >"$tmp/tap" 2>&1
r=$?
while IFS= read -r l; do
	case $l in
	"ok "*) t 0 "${l#ok [0-9]* - }" ;;
	"not ok "*) t 1 "${l#not ok [0-9]* - }" ;;
	"#"*) echo "$l" ;;
	*) echo "# $l" ;;
	esac
done <"$tmp/tap"
[ $r = 0 ]; t $? "serve.mjs (load) ran to its end"
grep -q 'serve: client gone, cancelling' "$tmp/serve2.log"
t $? "a client gone before its answer without streaming: the reply is cancelled"
wait "$pid"; r=$?; pid=
[ $r = 0 ]; t $? "SIGTERM during a stream: the server exits 0"
echo "1..$n"
exit $fail
