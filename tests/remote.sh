#!/bin/sh
# The remote worker (-m http://HOST:PORT/v1) against `yangtuo serve` on a
# free loopback port: the same text as the local engine at temperature 0
# with -p and --plain, a session saved over it; then against a hostile
# server (tests/hostile.mjs, needs node): escape bytes never reach
# stdout, malformed data, error objects, 401, 429 (retried), oversized
# events and a cut stream give clear errors.  TAP output.
bin=${YT_BIN:-./yangtuo}
src=${YT_SRCDIR:-$(dirname "$0")/..}
tmp=$(mktemp -d) || exit 1
pid=; hpid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$hpid" ] && kill "$hpid" 2>/dev/null; rm -rf "$tmp"' EXIT
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

XDG_CONFIG_HOME=$tmp/cfg; export XDG_CONFIG_HOME
XDG_STATE_HOME=$tmp/state; export XDG_STATE_HOME
XDG_DATA_HOME=$tmp/data; export XDG_DATA_HOME

: >"$tmp/serve.err"
"$bin" serve --port 0 2>"$tmp/serve.err" &
pid=$!
i=0
while [ $i -lt 200 ] && ! grep -q '/v1$' "$tmp/serve.err"; do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05; i=$((i+1))
done
port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/v1$|\1|p' "$tmp/serve.err")
[ -n "$port" ]; t $? "yangtuo serve runs on a free loopback port"
url=http://127.0.0.1:$port/v1

prompt="Once upon a time"
want=$("$bin" -p "$prompt" --temp 0 -n 40 2>/dev/null)
got=$("$bin" -p "$prompt" --temp 0 -n 40 -m "$url" 2>"$tmp/err"); r=$?
[ $r = 0 ] && [ -n "$got" ] && [ "$got" = "$want" ]
t $? "-p over the remote worker: the local engine's text at temperature 0"
[ "$got" = "$want" ] || { echo "# got: $got"; echo "# want: $want"; sed 's/^/# /' "$tmp/err"; }

swant=$("$bin" -p "$prompt" --temp 0 -n 40 --stop ' little' 2>/dev/null)
got=$("$bin" -p "$prompt" --temp 0 -n 40 --stop ' little' -m "$url" 2>/dev/null)
[ -n "$got" ] && [ "$got" = "$swant" ] && [ "$got" != "$want" ]; t $? "stop strings reach the server: the local engine's text"
printf '%s\nThe end\n' "$prompt" | "$bin" --plain --temp 0 -n 20 >"$tmp/local" 2>&1
printf '%s\nThe end\n' "$prompt" | "$bin" --plain --temp 0 -n 20 -m "$url" >"$tmp/remote" 2>&1
[ -s "$tmp/remote" ] && cmp -s "$tmp/local" "$tmp/remote"
t $? "--plain driven by stdin: two turns, the local engine's replies"
printf '%s\n/save remote1\n' "$prompt" | "$bin" --plain --temp 0 -n 10 -m "$url" >"$tmp/out" 2>&1
ls "$XDG_DATA_HOME"/yangtuo/sessions 2>/dev/null | grep -q remote1
t $? "/save keeps the conversation of a remote chat (messages only)"
"$bin" -p x -m http://127.0.0.1:1/v1 >/dev/null 2>"$tmp/err"; r=$?
[ $r != 0 ] && grep -q '127.0.0.1:1' "$tmp/err"; t $? "an unreachable server: a clear error naming it"
env -u YT_NOPE "$bin" -p x -m "$url" --api-key-env YT_NOPE >/dev/null 2>"$tmp/err"; r=$?
[ $r != 0 ] && grep -q YT_NOPE "$tmp/err"; t $? "an unset --api-key-env variable: an error naming it"
# /model over a server: its models (one here), one chosen by number
# (a new worker asks for it), the chat goes on; an unknown one is named.
printf '/model\n/model 1\n%s\n/model nosuch\n' "$prompt" |
    "$bin" --plain --temp 0 -n 10 -m "$url" >"$tmp/out" 2>&1
id=$(sed -n 's/^  \* 1  \(.*\)$/\1/p' "$tmp/out")
[ -n "$id" ] && grep -q "^now using $id;" "$tmp/out" &&
    grep -q "^, there was" "$tmp/out" && grep -q "no model 'nosuch'" "$tmp/out"
t $? "/model lists the server's models ($id) and switches by number"
[ -n "$id" ] || sed 's/^/# /' "$tmp/out"
# The model list /model shows (remote_list_models).
tr=$(dirname "$bin")/tests/t_remote
if [ -x "$tr" ]; then
	YT_REMOTE_URL=$url "$tr" >"$tmp/tr" 2>&1; r=$?
	sed -n 's/^\(not \)\{0,1\}ok [0-9]* - /&/p' "$tmp/tr" | while IFS= read -r l; do echo "# t_remote: $l"; done
	[ $r = 0 ] && ! grep -q '^not ok' "$tmp/tr" && grep -q '^ok' "$tmp/tr"
	t $? "remote_list_models lists the server's models"
fi
# The config's backend: chats go to the server; the key only by name.
mkdir -p "$XDG_CONFIG_HOME/yangtuo"
printf 'backend:\n  url: %s\n  model: stories260K\n' "$url" >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
got=$("$bin" -p "$prompt" --temp 0 -n 40 2>"$tmp/err")
[ "$got" = "$want" ]; t $? "backend: in the config chats through the server"
printf 'backend:\n  url: %s\n  model: nosuch\n' "$url" >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
"$bin" -p "$prompt" >/dev/null 2>"$tmp/err"; r=$?
[ $r != 0 ] && grep -q 'no such model' "$tmp/err"; t $? "backend: a model the server lacks is a clear error"
printf 'backend:\n  url: %s\n  api_key: sk-secret\n' "$url" >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
"$bin" -p "$prompt" >/dev/null 2>"$tmp/err"; r=$?
[ $r = 78 ] && grep -q api_key_env "$tmp/err" && ! grep -q sk-secret "$tmp/err"
t $? "backend: a key written in the config is refused, without echoing it"
rm -f "$XDG_CONFIG_HOME/yangtuo/config.yaml"
kill -TERM "$pid"; wait "$pid"; pid=

# The overflow policy with the server's context (max_model_len 128): as
# the conversation outgrows it, whole old turns are dropped and the chat
# says so, as with the local engine.
: >"$tmp/serve.err"
"$bin" serve --port 0 -c 128 2>"$tmp/serve.err" &
pid=$!
i=0
while [ $i -lt 200 ] && ! grep -q '/v1$' "$tmp/serve.err"; do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05; i=$((i+1))
done
port=$(sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\)/v1$|\1|p' "$tmp/serve.err")
long="Once upon a time there was a little dog who liked to run in the park with his friends every day"
printf '%s\n%s\n%s\n' "$long" "$long" "$long" |
	"$bin" --plain --temp 0 -n 16 -m "http://127.0.0.1:$port/v1" >"$tmp/out" 2>"$tmp/err"; r=$?
[ $r = 0 ] && grep -q 'left the context (.*/128 tokens' "$tmp/err"
t $? "a conversation outgrowing the server's context drops old turns and says so"
kill -TERM "$pid"; wait "$pid"; pid=

if ! command -v node >/dev/null 2>&1; then
	echo "# node is missing: the hostile server tests are skipped"
	echo "1..$n"; exit $fail
fi
node "$src/tests/hostile.mjs" >"$tmp/hport" 2>&1 &
hpid=$!
i=0
while [ $i -lt 200 ] && ! [ -s "$tmp/hport" ]; do sleep 0.05; i=$((i+1)); done
hurl=http://127.0.0.1:$(head -1 "$tmp/hport")/v1
esc=$(printf '\033')
c1=$(printf '\302\233')
state() { node -e "fetch('${hurl%/v1}/state').then(r=>r.text()).then(t=>console.log(t))"; }
count() { state | sed 's/.*"count":\([0-9]*\).*/\1/'; }
for mode in escape malformed error 401 429 huge early nostream; do
	[ $mode = 429 ] && q0=$(count)
	"$bin" -p "$mode" -m "$hurl" >"$tmp/$mode.out" 2>"$tmp/$mode.err"; echo $? >"$tmp/$mode.rc"
	[ $mode = 429 ] && q1=$(count)
	! grep -q "$esc" "$tmp/$mode.out" "$tmp/$mode.err" && ! grep -q "$c1" "$tmp/$mode.out" "$tmp/$mode.err"
	r=$?
	t $r "$mode: no escape bytes on stdout or stderr"
	[ $r = 0 ] || od -c "$tmp/$mode.out" "$tmp/$mode.err" | head -20 | sed "s/^/# /"
done
[ "$(cat "$tmp/escape.rc")" = 0 ] && grep -q 'safe text' "$tmp/escape.out"
t $? "escape: the text arrives, made harmless"
rc() { [ "$(cat "$tmp/$1.rc")" != 0 ] && grep -qi "$2" "$tmp/$1.err"; }
rc malformed 'malformed'; t $? "malformed data: a clear error"
rc error 'boom'; t $? "an error object mid-stream: its message"
rc 401 'HTTP 401'; t $? "HTTP 401: said, with the server's message"
rc 429 'HTTP 429' && [ $((q1 - q0)) = 4 ]; t $? "HTTP 429: retried 3 times, then said ($((q1 - q0)) requests)"
rc huge 'too large'; t $? "an oversized event: a clear error"
rc early 'ended the stream'; t $? "a stream cut short: a clear error"
[ "$(cat "$tmp/nostream.rc")" = 0 ] && grep -q 'whole .*answer' "$tmp/nostream.out"
t $? "a server that ignores stream: its JSON answer is shown"

# Ctrl-C during a reply that the server never ends: the connection is
# closed (the time it took is reported, not judged) and the chat goes on.
mkfifo "$tmp/in"
"$bin" --plain -m "$hurl" <"$tmp/in" >"$tmp/hang.out" 2>&1 &
ypid=$!
exec 3>"$tmp/in"
echo hang >&3
i=0; while [ $i -lt 200 ] && ! grep -q waiting "$tmp/hang.out"; do sleep 0.05; i=$((i+1)); done
t0=$(date +%s%3N)
kill -INT "$ypid"
i=0; while [ $i -lt 50 ] && ! state | grep -q '"closed":1'; do sleep 0.1; i=$((i+1)); done
st=$(state)
echo "$st" | grep -q '"closed":1'; t $? "Ctrl-C closes the connection of the reply under way"
echo "# connection closed $(( $(echo "$st" | sed 's/.*"closedAt":\([0-9]*\).*/\1/') - t0 )) ms after SIGINT"
echo ok >&3
exec 3>&-
wait "$ypid"; r=$?
[ $r = 0 ] && grep -q 'ok' "$tmp/hang.out"; t $? "the chat goes on after the cancel"
echo "1..$n"
exit $fail
