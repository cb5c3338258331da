#!/bin/sh
# The full-screen chat as a user drives it: the real binary in a private
# tmux server (send-keys, capture-pane, pipe-pane) with the demo model and
# synthetic models made here.  Chinese multi-turn chat, Backspace over
# CJK, rewrap on resize, live temperature, the system prompt picker,
# save/quit/load, bracketed paste, escape sequences in session text,
# NO_COLOR, TERM=dumb, themes, suspend, SIGTERM, commands and search while
# scrolled up, the context meter, input typed during a reply, /save and
# /export that never replace, --resume after /system, and keystroke echo latency while
# a 1B-shaped model generates (YT_SKIP_SLOW=1 skips that).  TAP output.
bin=${YT_BIN:-./yangtuo}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
if ! command -v tmux >/dev/null 2>&1; then
	echo "1..0 # SKIP tmux is not installed"; exit 0
fi
if ! command -v perl >/dev/null 2>&1; then
	echo "1..0 # SKIP perl is not installed"; exit 0
fi
tmp=$(mktemp -d) || exit 1
sock=yt$$
T() { tmux -u -L "$sock" -f /dev/null "$@"; }
cleanup() {
	T kill-server >/dev/null 2>&1
	# yangtuo saves on SIGHUP: let every one of ours finish first.
	i=0; while grep -qlF "$tmp/" /proc/[0-9]*/cmdline 2>/dev/null &&
	    [ $i -lt 50 ]; do
		sleep 0.1; i=$((i+1)); done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
skip() { n=$((n+1)); echo "ok $n # SKIP $1"; }
diag() { sed 's/^/# /' "$@"; }

# Slower under ASan: every wait gets longer (tenths of a second); reports
# go to files the last test point looks for.
slow=1
if [ -n "$YT_SANITIZERS" ]; then
	slow=4
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$tmp/asan"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$tmp/ubsan"
fi
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color
unset LANGUAGE NO_COLOR COLUMNS LINES TMUX
mkdir -p "$XDG_CONFIG_HOME/yangtuo" "$XDG_DATA_HOME/yangtuo/sessions"
cat >"$XDG_CONFIG_HOME/yangtuo/config.yaml" <<'EOF'
prompts:
  - name: 翻译
    text: "你是一名专业的中英翻译。"
  - name: 写作助手
    text: "你是一位耐心的中文写作助手。"
EOF
sessions=$XDG_DATA_HOME/yangtuo/sessions

# start NAME WIDTH HEIGHT ARGS...: yangtuo in a new session; its exit
# status goes to NAME.status (tmux 3.3 does not always reap a dead pane's
# process, so #{pane_dead_status} cannot be trusted).
start() {
	s=$1 w=$2 h=$3; shift 3
	rm -f "$tmp/$s.status"
	printf '%s\n' "echo \$\$ >'$tmp/$s.pid'" \
	    "exec env TERM=xterm-256color ${ENVX:-} '$bin' --log-file '$tmp/$s.log' $*" \
	    >"$tmp/$s.sh"
	T new-session -d -s "$s" -x "$w" -y "$h" \
	    "sh '$tmp/$s.sh'; echo \$? >'$tmp/$s.status'" \; \
	    set-option -t "$s" remain-on-exit on >/dev/null
}
# The process id of yangtuo in session NAME.
pid_of() { cat "$tmp/$1.pid"; }
status_of() { cat "$tmp/$1.status" 2>/dev/null; }
screen() { T capture-pane -p -t "$1" 2>/dev/null; }
# wait_for NAME REGEX [TENTHS]: until the screen matches (default 10 s).
wait_for() {
	i=0 lim=$(( ${3:-100} * slow ))
	while [ $i -lt $lim ]; do
		screen "$1" >"$tmp/screen"
		grep -qE -- "$2" "$tmp/screen" && return 0
		sleep 0.1; i=$((i+1))
	done
	return 1
}
# wait_log NAME REGEX COUNT [TENTHS]: until the debug log has COUNT lines.
wait_log() {
	i=0 lim=$(( ${4:-100} * slow ))
	while [ $i -lt $lim ]; do
		[ "$(grep -cE -- "$2" "$tmp/$1.log" 2>/dev/null)" -ge "$3" ] &&
		    return 0
		sleep 0.1; i=$((i+1))
	done
	return 1
}
# wait_gone NAME REGEX [TENTHS]: until the screen no longer matches.
wait_gone() {
	i=0 lim=$(( ${3:-100} * slow ))
	while [ $i -lt $lim ]; do
		screen "$1" >"$tmp/screen"
		grep -qE -- "$2" "$tmp/screen" || return 0
		sleep 0.1; i=$((i+1))
	done
	return 1
}
# turns NAME MESSAGE...: once it has started, each message and its reply.
turns() {
	s=$1; shift
	wait_for "$s" 'temp 0\.20' 150
	k=$(grep -c 'ui reply done' "$tmp/$s.log" 2>/dev/null)
	for m in "$@"; do
		k=$((k + 1))
		T send-keys -t "$s" "$m" Enter
		wait_log "$s" 'ui reply done' $k
	done
}
# says NAME LINE REGEX WHAT: type LINE, Enter; a test point that the
# screen comes to match REGEX.
# settle NAME: capture again until two captures a tenth of a second apart
# agree (at most 2 s), so that later checks of $tmp/screen read a whole
# refresh and not one tmux was caught halfway through (under
# ThreadSanitizer a refresh can take that long).
settle() {
	j=0; while [ $j -lt $((20 * slow)) ]; do
		sleep 0.1; screen "$1" >"$tmp/screen.next"
		cmp -s "$tmp/screen" "$tmp/screen.next" && return 0
		mv "$tmp/screen.next" "$tmp/screen"; j=$((j+1))
	done
	return 0
}
says() {
	T send-keys -t "$1" "$2" Enter
	wait_for "$1" "$3" 30 && settle "$1"
	t $? "$4"
}
dead() { [ -s "$tmp/$1.status" ]; }
wait_dead() {
	i=0; while [ $i -lt $((100 * slow)) ]; do dead "$1" && return 0
	sleep 0.1; i=$((i+1)); done; return 1
}
# Display width of every line of stdin, one number a line.
widths() {
	perl -CSD -ne 'chomp; my $w = 0; for (split //) {
		next if /\p{Mn}|\p{Me}|\x{200D}|\x{FE0F}/;
		$w += /\p{EA=W}|\p{EA=F}/ ? 2 : 1 } print "$w\n"'
}
# The transcript on screen: from the first header to before a note
# matching $2.
transcript() {
	screen "$1" | awk -v stop="$2" '/^(You|Assistant)  /{on=1}
	    on && $0 ~ stop {exit} on {print}'
}

demo="-t 1 --seed 7 -n 24"
chatml="$demo --template chatml"	# the demo model with a system prompt

# ---- A Chinese multi-turn chat on the demo model -----------------------
start a 80 24 "$chatml"
wait_for a 'temp 0\.20' 150; t $? "the chat starts and draws its status bar"
T send-keys -t a "你好，请讲一个关于小猫的故事。" Enter
wait_log a 'ui reply done' 1; t $? "a Chinese message gets a reply"
wait_for a '^You  [0-9]' && grep -q '^  你好，请讲一个关于小猫的故事。$' "$tmp/screen" &&
    grep -q '^Assistant  ' "$tmp/screen"
t $? "the message and the reply are shown with role labels and times"
T send-keys -t a "再讲一个，好吗？" Enter
wait_log a 'ui reply done' 2; t $? "a second turn gets a reply"
# "ui reply done ... prompt=P cached=C" of reply $2.
reply_stat() {
	grep 'ui reply done' "$tmp/$1.log" | sed -n "$2p" |
	    sed 's/.*prompt=\([0-9]*\) cached=\([0-9]*\).*/\1 \2/'
}
set -- $(reply_stat a 2); p2=$1 c2=$2
[ "${c2:-0}" -gt 0 ]; t $? "the second turn reuses the first turn's tokens ($c2 of $p2)"

T send-keys -t a "中文测试"
wait_for a '^> 中文测试$'
T send-keys -t a BSpace BSpace
wait_for a '^> 中文$'; t $? "Backspace removes whole CJK characters"
T send-keys -t a Left BSpace
wait_for a '^> 文$'; t $? "cursor motion moves over whole wide characters"
T send-keys -t a C-e C-u

# Alt-Enter and Ctrl-J insert newlines; Enter sends the whole message.
T send-keys -t a "第一行" M-Enter "第二行" C-j "第三行"
wait_for a '^  第三行$' && settle a && [ "$(grep -c '^> 第一行$' "$tmp/screen")" = 1 ]
t $? "Alt-Enter and Ctrl-J insert newlines in the input"
T send-keys -t a C-u Up
wait_for a '^> 再讲一个，好吗？$'; t $? "Up at the first line walks the history"
T send-keys -t a C-u

# ---- The system prompt picker ------------------------------------------
T send-keys -t a F2
wait_for a '^ System prompt' && settle a && grep -q '翻译' "$tmp/screen" &&
    grep -q '写作助手' "$tmp/screen"
t $? "F2 opens the picker of configured system prompts"
T send-keys -t a "写作" Enter
wait_for a 'sys 写作助手'; t $? "choosing one switches the system prompt (status bar)"
T send-keys -t a "写一句话。" Enter
wait_log a 'ui reply done' 3
set -- $(reply_stat a 3); c3=$2
[ -n "$c3" ] && [ "$c3" -lt "$p2" ]
t $? "the next reply re-evaluates the changed prefix ($c3 cached of $p2 before)"
T send-keys -t a "/stats" Enter
wait_for a 'system prompt: 写作助手.*'; t $? "/stats names the new system prompt"

# ---- Help, unknown commands, search ------------------------------------
T send-keys -t a F1
wait_for a 'F3, F4' && settle a && grep -q 'Ctrl-F' "$tmp/screen"
t $? "F1 shows the keys"
T send-keys -t a NPage
wait_for a '/system \[NAME\|TEXT\]'
t $? "and, a page down, the commands"
T send-keys -t a Escape "/bogus" Enter
wait_for a 'unknown command /bogus'; t $? "an unknown command is named"
T send-keys -t a C-f "小猫"
wait_for a '^Search: 小猫' && settle a && ! grep -q 'no match' "$tmp/screen"
t $? "Ctrl-F searches the transcript for CJK text"
T send-keys -t a Enter
wait_for a 'Up, Ctrl-F: older match'
screen a | head -n -2 >"$tmp/m1"
T send-keys -t a Up
i=0; while [ $i -lt 30 ]; do screen a >"$tmp/m2"
	grep -q 'search wrapped' "$tmp/m2" && break
	head -n -2 "$tmp/m2" | cmp -s - "$tmp/m1" || break
	sleep 0.1; i=$((i+1)); done
[ $i -lt 30 ]; t $? "Up steps to the older match"
T send-keys -t a Escape C-f "狗狗狗" Enter
wait_for a 'not found'; t $? "a missing text is reported"

# ---- Resize: rewrap by display width -----------------------------------
M='春天来了，公园里开满了花。小猫在草地上追蝴蝶，跑得很快。它说：“我要抓住你！”蝴蝶飞走了，小猫有点难过，但是很快又高兴起来。'
cat >"$sessions/wrap.yaml" <<EOF
yangtuo_session: 1
messages:
  - role: user
    time: 1764190000
    text: "$M"
  - role: assistant
    time: 1764190001
    text: "好的。"
EOF
# check_wrap NAME WIDTH: the message's lines fit, join to the message, and
# no line starts with closing punctuation.
check_wrap() {
	T send-keys -t "$1" Home
	sleep 0.3
	screen "$1" >"$tmp/w.screen"
	awk '/^You  /{on=1; next} on && /^$/{exit} on {print}' "$tmp/w.screen" |
	    sed 's/^  //' >"$tmp/w.lines"
	[ "$(tr -d '\n' <"$tmp/w.lines")" = "$M" ] || { diag "$tmp/w.lines"; return 1; }
	widths <"$tmp/w.screen" | awk -v w="$2" '$1 > w {bad=1} END {exit bad}' ||
	    return 1
	! grep -qE '^(，|。|！|”|：)' "$tmp/w.lines"
}
T send-keys -t a "/load wrap" Enter
wait_for a "loaded 'wrap'"
T resize-window -t a -x 40 -y 12
sleep 0.5
check_wrap a 40; t $? "at 40x12 the text is rewrapped, fits and starts no line with punctuation"
[ "$(wc -l <"$tmp/w.lines")" -ge 4 ]; t $? "and takes several lines ($(wc -l <"$tmp/w.lines"))"
! grep -q "$(printf '\357\277\275')" "$tmp/w.screen"; t $? "and no character is broken"
T resize-window -t a -x 200 -y 60
sleep 0.5
check_wrap a 200; t $? "at 200x60 the text is rewrapped again"
[ "$(wc -l <"$tmp/w.lines")" = 1 ]; t $? "on one line"
T resize-window -t a -x 1 -y 1; sleep 0.2
T resize-window -t a -x 80 -y 24; sleep 0.3
! dead a && wait_for a 'temp 0\.20'; t $? "a 1x1 terminal does not crash it"
i=0; while [ $i -lt 40 ]; do
	T resize-window -t a -x $((30 + i * 7 % 90)) -y $((5 + i * 3 % 40))
	i=$((i+1)); done
T resize-window -t a -x 80 -y 24
! dead a && wait_for a 'temp 0\.20' && widths <"$tmp/screen" |
    awk '$1 > 80 {bad=1} END {exit bad}'
t $? "a storm of 40 resizes leaves a whole screen"
T send-keys -t a End "/quit" Enter
wait_dead a && [ "$(status_of a)" = 0 ]
t $? "/quit leaves with status 0"
[ "$(T display -p -t a '#{alternate_on}#{mouse_any_flag}')" = 00 ]
t $? "and gives the terminal back (no alternate screen, no mouse mode)"

# ---- Save, quit, relaunch, load: the same transcript ---------------------
start b 80 40 "$demo"
turns b "讲一个故事。" "Tell me more, 再多一点。"
T send-keys -t b "/save 故事" Enter
wait_for b "saved as '故事'"; t $? "/save saves under a Chinese name"
transcript b "saved as '故事'" >"$tmp/before"
T send-keys -t b "/quit" Enter
wait_dead b
T kill-session -t b
start b 80 40 "$demo"
wait_for b 'temp 0\.20' 150
T send-keys -t b "/load" Enter
wait_for b '^ Load a conversation' && settle b && grep -qE '^ 故事  20[0-9-]+ [0-9:]+  4 messages  讲一个故事。' "$tmp/screen"
t $? "/load lists saved sessions with date and first line"
T send-keys -t b "故事" Enter
wait_for b "loaded '故事'"
transcript b "loaded '故事'" >"$tmp/after"
[ -s "$tmp/before" ] && cmp -s "$tmp/before" "$tmp/after"
t $? "after relaunch and /load the transcript is identical ($(wc -l <"$tmp/before") lines)"
cmp -s "$tmp/before" "$tmp/after" || diff "$tmp/before" "$tmp/after" | diag

# ---- Bracketed paste: one message --------------------------------------
sends=$(grep -c 'ui send' "$tmp/b.log")
T set-buffer -b p "$(printf '粘贴第一行\npaste line two\n第三行 three')"
T paste-buffer -p -b p -t b
wait_for b '^  第三行 three$' && settle b && grep -q '^> 粘贴第一行$' "$tmp/screen"
t $? "a pasted 3-line text lands in the input"
[ "$(grep -c 'ui send' "$tmp/b.log")" = "$sends" ]; t $? "and nothing is sent line by line"
T send-keys -t b Enter
# The last message shown holds the three lines (looked at until the
# screen settles).
last_msg_has() {
	screen "$1" | awk '/^You  /{n=NR} {l[NR]=$0}
	    END{for(i=n+1;i<=n+3;i++) print l[i]}' | grep -q "$2"
}
wait_log b 'ui send' $((sends + 1)) && wait_log b 'ui reply done' 3 && {
	i=0; until last_msg_has b '^  第三行 three$' || [ $i -ge 30 ]; do
		sleep 0.1; i=$((i+1)); done; [ $i -lt 30 ]; }
t $? "Enter sends it as one message"

# /edit takes the last message back; /regen answers again.
T send-keys -t b "/edit" Enter
wait_for b '^> 粘贴第一行$'; t $? "/edit puts the last message back into the input"
T send-keys -t b C-u "/regen" Enter
wait_log b 'ui reply done' 4; t $? "/regen answers the last message again"
T send-keys -t b "/new" Enter
# The note and the emptied transcript come in one refresh, which a
# capture can catch halfway (it did once under ThreadSanitizer): check the
# settled screen.
wait_for b 'conversation cleared' && settle b && ! grep -q '^You  ' "$tmp/screen"
t $? "/new starts a new conversation"
T send-keys -t b "/quit" Enter
wait_dead b

# ---- Escape sequences from a session never reach the terminal ----------
cat >"$sessions/esc.yaml" <<'EOF'
yangtuo_session: 1
messages:
  - role: user
    time: 1764190000
    text: "escapes"
  - role: assistant
    time: 1764190001
    text: "clear:\e[2Jpwned-clear title:\e]0;pwned-title\a clip:\e]52;c;cHduZWQ=\a link:\e]8;;http://x.example/\e\\pwned-link\e]8;;\e\\ q:\e[6n cr:a\rb bs:x\by del:\x7F c1:\u009B31m bidi:\u202Eabc"
EOF
start c 100 20 "$demo"
wait_for c 'temp 0\.20' 150
T send-keys -t c Up Up Up Up Up
wait_for c '^> 粘贴第一行$' && settle c && grep -q '^  第三行 three$' "$tmp/screen"
t $? "the history file keeps a message of several lines whole across runs"
T send-keys -t c C-e C-u
T pipe-pane -t c -o "cat >>'$tmp/raw'"
T send-keys -t c "/load esc" Enter
wait_for c "loaded 'esc'"
sleep 0.3
T pipe-pane -t c
grep -q '␛\[2Jpwned-clear' "$tmp/screen" && grep -q '␛\]52;c;cHduZWQ=␇' "$tmp/screen" &&
    grep -q '␛\]0;pwned-title' "$tmp/screen"
t $? "ESC[2J, OSC 52 and ESC]0; in a reply are drawn as placeholders"
grep -q 'cr:a␍b bs:x␈y del:␡' "$tmp/screen"; t $? "and so are CR, BS and DEL"
[ -s "$tmp/raw" ] && ! perl -0777 -ne 'exit(/\e\]|\e\[2Jpwned|\e\[6n|\a|\xc2\x9b/ ? 0 : 1)' "$tmp/raw"
t $? "the pty byte stream carries no ESC, BEL or C1 from the content"
[ "$(T display -p -t c '#{pane_title}')" != pwned-title ]; t $? "the title is unchanged"
T send-keys -t c "/quit" Enter
wait_dead c

# ---- Colours: NO_COLOR, TERM=dumb --------------------------------------
start d 80 24 "$demo"
wait_for d 'temp 0\.20' 150
T capture-pane -e -p -t d | grep -q "$(printf '\033')\[[0-9;]*3[0-9]m"
t $? "colours are used by default"
# The status bar as capture-pane -e gives it, escapes and all.
bar() { T capture-pane -e -p -t "$1" | grep 'temp 0\.20' >"$tmp/$2"; }
mkdir -p "$XDG_CONFIG_HOME/yangtuo/themes"
printf 'user:\n  fg: 300\n' >"$XDG_CONFIG_HOME/yangtuo/themes/broken.yaml"
T send-keys -t d "/theme" Enter
# Each line waited for in turn (each wait reads the screen again): the
# list may be drawn in more than one go (ASan failed a single read).
wait_for d '^ +\* default$' && wait_for d '^ +dark$' 30 &&
    wait_for d '^ +solarized-dark$' 30 &&
    wait_for d '^ +broken +\(yours\)$' 30
t $? "/theme lists the installed themes and yours, the one in use marked"
bar d bar1
T send-keys -t d "/theme dark" Enter
wait_for d '^  theme: dark$'; sleep 0.2; bar d bar2
grep -q '48;5;236m' "$tmp/bar2" && ! cmp -s "$tmp/bar1" "$tmp/bar2"
t $? "/theme dark switches the colours at once (the status bar)"
T send-keys -t d "/theme broken" Enter
wait_for d 'theme not changed: .*broken\.yaml:2:7:'
t $? "a broken theme of yours is a note naming file:line:col"
sleep 0.2; bar d bar3
grep -q '48;5;236m' "$tmp/bar3" && ! grep -qE '(\[|;)44m' "$tmp/bar3"
t $? "and the colours stay as they were"
T send-keys -t d "/quit" Enter
ENVX="NO_COLOR=1" start e 80 24 "$demo"
wait_for e 'temp 0\.20' 150
! T capture-pane -e -p -t e | grep -qE "$(printf '\033')\[([0-9;]*;)?(3[0-8]|4[0-8]|38;5;[0-9]+|48;5;[0-9]+)m"
t $? "NO_COLOR: no colour is used"
T send-keys -t e "/theme solarized-dark" Enter
wait_for e '^  theme: solarized-dark$' && sleep 0.2 &&
    ! T capture-pane -e -p -t e | grep -qE "$(printf '\033')\[([0-9;]*;)?(3[0-8]|4[0-8]|38;5;[0-9]+|48;5;[0-9]+)m" &&
    T capture-pane -e -p -t e | grep 'temp 0\.20' | grep -q "$(printf '\033')\[[0-9;]*7m"
t $? "NO_COLOR: nor after /theme solarized-dark (attributes only)"
T send-keys -t e "/quit" Enter
printf 'theme: light\n' >"$tmp/light.yaml"
start e2 80 24 "$demo --config '$tmp/light.yaml'"
wait_for e2 'temp 0\.20' 150; bar e2 bar4
grep -q '48;5;252m' "$tmp/bar4"; t $? "theme: in the config is used from the start"
T send-keys -t e2 "/quit" Enter
printf 'theme: nope\n' >"$tmp/nope.yaml"
start e3 80 24 "$demo --config '$tmp/nope.yaml'"
wait_for e3 "theme not used: no theme named 'nope'" 150 && bar e3 bar5 &&
    grep -qE '(\[|;)44m' "$tmp/bar5"
t $? "a theme: that cannot be loaded is a note; the built-in colours stay"
T send-keys -t e3 "/quit" Enter
T new-session -d -s f -x 80 -y 24 "exec env TERM=dumb '$bin' $demo"
wait_for f '/help for help'; t $? "TERM=dumb falls back to the line chat"
T send-keys -t f "/quit" Enter

# ---- Suspend and resume; SIGTERM saves and restores ---------------------
T new-session -d -s g -x 80 -y 24 "env PS1='sh\$ ' sh -i"
wait_for g 'sh\$'
T send-keys -t g "'$bin' $demo" Enter
wait_for g 'temp 0\.20' 150
T send-keys -t g C-z
wait_for g 'sh\$ *$' && [ "$(T display -p -t g '#{alternate_on}')" = 0 ]
t $? "Ctrl-Z suspends and gives the terminal back"
T send-keys -t g "fg" Enter
wait_for g 'temp 0\.20' && [ "$(T display -p -t g '#{alternate_on}')" = 1 ]
t $? "fg resumes the full screen"
T send-keys -t g "/quit" Enter

start h 80 24 "$demo"
wait_for h 'temp 0\.20' 150
T send-keys -t h "保存我" Enter
wait_log h 'ui reply done' 1
kill -TERM "$(pid_of h)"
wait_dead h; st=$(status_of h); [ "$st" = 143 ]
t $? "SIGTERM ends it with status 143 ($st)"
grep -q '保存我' "$sessions/autosave.yaml" 2>/dev/null
t $? "after saving the conversation as 'autosave'"
[ "$(T display -p -t h '#{alternate_on}#{mouse_any_flag}')" = 00 ]
t $? "and restoring the terminal"

# ---- Scrolled up, commands still run; search never eats typed text ---
start u 80 24 -t 1 --seed 7 -n 300
turns u one two
T send-keys -t u PPage
wait_for u '^  one$' 30
T send-keys -t u "/stats" Enter
wait_for u 'system prompt: ' 30; t $? "scrolled up, /stats runs as a command"
T send-keys -t u C-f "one" Enter
sleep 0.3
T send-keys -t u "now more"
wait_for u '^> now more$' 30; t $? "after a search, typed text keeps its first letter"
T send-keys -t u C-u C-f "x"
wait_for u '^Search: x' 30
T send-keys -t u Escape
wait_gone u '^Search: ' 20; t $? "Esc ends the search at once" 
T send-keys -t u "/quit" Enter
# ---- The context meter follows the reply, /edit and /clear ------------
start v 80 24 "$demo"
turns v one two
# The engine's count after the reply, and what the meter showed then.
grep 'ui context' "$tmp/v.log" | sed -n 2p | sed 's/.*used=\([0-9]*\) shown=\([0-9]*\).*/\1 \2/' >"$tmp/ctx"
read used shown <"$tmp/ctx"
p1=$(grep 'ui context' "$tmp/v.log" | sed -n 1p | sed 's/.*used=\([0-9]*\).*/\1/')
[ "${shown:-0}" -gt "${p1:-0}" ] && [ $((shown + 2)) -ge "${used:-0}" ]
t $? "the meter counts the reply as it comes ($shown of $used; prompt $p1)"
T send-keys -t v "/edit" Enter
wait_for v '^> two$'
set -- $(grep 'ui reply done' "$tmp/v.log" | sed -n 1p | sed 's/.*generated=\([0-9]*\) prompt=\([0-9]*\).*/\1 \2/')
e1=$(($1 + $2))
wait_for v "ctx [^ ]* $e1/" 30; t $? "after /edit the meter shows the first reply's context ($e1)"
T send-keys -t v C-u "/clear" Enter
wait_for v 'ctx [^ ]* 0/' 30; t $? "after /clear the meter is empty"
T send-keys -t v "/quit" Enter
# ---- Lines typed or pasted (no bracketed paste) during a reply are kept
start w 80 24 -t 1 --seed 7 -n 400
wait_for w 'temp 0\.20' 150
T send-keys -t w "a1" Enter "b2" Enter "c3" Enter "d4"
wait_log w 'ui reply done' 1
wait_for w '^. *d4$' 30
screen w >"$tmp/w.scr"
lost=
for x in b2 c3 d4; do grep -q "^. *$x\$" "$tmp/w.scr" || lost="$lost $x"; done
[ -z "$lost" ]; t $? "lines typed during a reply are all kept${lost:+ (lost$lost)}"
[ -z "$lost" ] || diag "$tmp/w.scr"
T send-keys -t w C-u "/quit" Enter
# ---- Tab lists the candidates at once; says when there are none ---------
start tb 80 24 "$demo"
wait_for tb 'temp 0\.20' 150
T send-keys -t tb "/s" Tab
wait_for tb '/save  /set  /stats  /system' 30
t $? "one Tab after /s lists /save /set /stats /system"
T send-keys -t tb C-u "/set temperature " Tab
wait_for tb 'nothing to complete here' 30
t $? "Tab with nothing to offer says so"
T send-keys -t tb C-u "/quit" Enter
# ---- At 60 columns, help and reply headers wrap, nothing is cut --------
start nw 60 20 "$demo"
turns nw "hello"
# Where it breaks depends on the speed shown (its digits): wrapped, not
# cut, means the header's last word is there, at the end of a line.
wait_for nw 'reached\)$' 30 && settle nw && grep -q '(stopped:' "$tmp/screen"
t $? "a reply header too long for 60 columns wraps"
awk '/^Assistant  /{getline; getline; print; exit}' "$tmp/screen" | grep -q '^  [^ ]'
t $? "the reply starts at the text's indent, without the model's blank"
T send-keys -t nw F1
wait_for nw 'F3, F4' 30
T send-keys -t nw Down
wait_for nw '^ +line with \\\)$' 30
t $? "F1 help rows wrap under their text at 60 columns"
T send-keys -t nw Escape
T resize-window -t nw -x 100 -y 20
T send-keys -t nw F1
wait_for nw 'F3, F4' 30
T send-keys -t nw Down
wait_for nw 'line with \\\)$' 30
T resize-window -t nw -x 60 -y 20
wait_for nw '^ +line with \\\)$' 30
t $? "an open help page is wrapped again when the screen narrows"
T send-keys -t nw Escape "/quit" Enter
# ---- /file, /copy (OSC 52), and the /load picker's Delete -------------
printf 'apple\nbanana\n' >"$tmp/fruit.txt"
start fc 80 24 "$demo"
wait_for fc 'temp 0\.20' 150
says fc "/file $tmp/fruit.txt" 'fruit\.txt \(12 bytes\) goes with the next message' \
    "/file says the file goes with the next message"
T send-keys -t fc "What is in it?" Enter
wait_log fc 'ui reply done' 1
wait_for fc '^  File fruit\.txt:$' 30 && settle fc && grep -q '^  banana$' "$tmp/screen" &&
    grep -qxF '  What is in it?' "$tmp/screen"
t $? "and the message carries it, name and text, before what was typed"
T set-option -s set-clipboard on
T send-keys -t fc "/copy" Enter
wait_for fc 'copied [0-9]+ bytes to the clipboard' 30 &&
    T show-buffer >"$tmp/clip" 2>/dev/null &&
    grep 'ui reply done' "$tmp/fc.log" >/dev/null &&
    [ -s "$tmp/clip" ] && grep -qF "  $(head -1 "$tmp/clip" | cut -c1-12)" "$tmp/screen"
t $? "/copy puts the last reply on the terminal's clipboard (OSC 52)"
T send-keys -t fc "/save fruit" Enter
wait_for fc "saved as 'fruit'"
T send-keys -t fc "/load" Enter
# The footer is drawn after the title: wait for what is measured.
wait_for fc 'Del: delete  Ctrl-R: rename' 50 && settle fc &&
    grep -q '^ Load a conversation' "$tmp/screen"
t $? "the /load list says its keys to delete and rename"
T send-keys -t fc "fruit" DC
wait_for fc '^> /delete! fruit$' 30; t $? "Delete in the /load picker puts /delete! NAME in the input"
T send-keys -t fc Enter
wait_for fc "deleted 'fruit'" 30 && [ ! -f "$sessions/fruit.yaml" ]
t $? "and Enter deletes it"
T send-keys -t fc "/delete 故事" Enter
wait_for fc "delete '故事' for good\? /delete! 故事 does it" 30 &&
    [ -f "$sessions/故事.yaml" ]
t $? "/delete NAME asks first"
T send-keys -t fc "/load" Enter
wait_for fc '^ Load a conversation'
T send-keys -t fc "故事" C-r
wait_for fc '^> /rename 故事 / ?$' 30
t $? "Ctrl-R in the /load list puts /rename NAME / in the input"
says fc "tale" "renamed '故事' to 'tale'" "and a new name renames it"
says fc "/rename tale / 故事" "renamed 'tale' to '故事'" "/rename OLD / NEW"
T send-keys -t fc "/quit" Enter
# ---- /model lists the models and switches, keeping the conversation ----
mkdir -p "$XDG_DATA_HOME/yangtuo/models"
cp "${YANGTUO_DATADIR:-${YT_SRCDIR:-..}}/data/stories260K.gguf" \
    "$XDG_DATA_HOME/yangtuo/models/other.gguf" 2>/dev/null
# Wide: the list shows whole paths, which are long in a distcheck tree.
start mo 200 24 "$demo"
turns mo "Once upon a time"
says mo "/model" '^      [0-9]+  .*/models/other\.gguf$' \
    "/model lists the models, the model folder's too"
grep -qE '^    \* 1  .*stories260K\.gguf$' "$tmp/screen"
t $? "the one in use first and marked"
says mo "/model other" 'now using .*other\.gguf' "/model NAME switches"
T send-keys -t mo "and then?" Enter
wait_log mo 'ui reply done' 2
set -- $(reply_stat mo 1); p1=$1
set -- $(reply_stat mo 2); p2=$1 c2=$2
[ "${p2:-0}" -gt $((${p1:-0} + 20)) ] && [ "${c2:-1}" = 0 ]
t $? "it reads the whole conversation again and answers ($p2 tokens, $c2 cached; first $p1)"
says mo "/model nope" "no model 'nope'" "an unknown model is named"
T send-keys -t mo "/quit" Enter
# ---- Replies drawn as Markdown; the raw text saved and exported ---------
cat >"$sessions/md.yaml" <<'EOF'
yangtuo_session: 1
messages:
  - role: user
    time: 1764190000
    text: "show me"
  - role: assistant
    time: 1764190001
    text: "## Plan\nThis is **important** and *calm*.\n- first item\n> a quote\n```sh\necho one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen\n```\n| 名字 | n |\n|---|---|\n| 小猫 | 12 |\n| a | 3 |\nend"
EOF
start md 60 30 "$demo"
wait_for md 'temp 0\.20' 150
says md "/load md" '^  Plan$' "a heading is drawn without its marks"
grep -q '^  This is important and calm\.$' "$tmp/screen" &&
    grep -q '^  • first item$' "$tmp/screen" && grep -q '^  │ a quote$' "$tmp/screen"
t $? "bold and italic lose their marks, a list its dash, a quote gets a bar"
grep -q '^    echo one two three' "$tmp/screen" &&
    ! grep -q '^ *fourteen fifteen' "$tmp/screen" && ! grep -q '```' "$tmp/screen"
t $? "a code block is set apart and cut at the edge, never rewrapped"
# The table is the reply's end: wait until it is drawn (a slow build
# draws the screen in more than one refresh).
wait_for md '^  a +│ 3$' 30
grep -E '^  (名字 +│ n|小猫 +│ 12|a +│ 3)$' "$tmp/screen" | sed 's/│.*//' |
    widths | sort -u | wc -l | grep -qx 1 &&
    [ "$(grep -cE '^  (名字 +│ n|小猫 +│ 12|a +│ 3)$' "$tmp/screen")" = 3 ]
t $? "a table's columns line up by display width"
says md "/export $tmp/md.md" "exported to" "/export of a Markdown reply"
grep -q 'This is \*\*important\*\* and \*calm\*\.' "$tmp/md.md" &&
    grep -q '^| 小猫 | 12 |$' "$tmp/md.md"
t $? "and the export keeps the raw Markdown"
T send-keys -t md "/quit" Enter
# ---- A notice about the reply goes with it ------------------------------
start w2 80 24 -t 1 --seed 7 -n 2000
wait_for w2 'temp 0\.20' 150
T send-keys -t w2 "Once upon a time" Enter
wait_for w2 'replying' 100
T send-keys -t w2 C-c
wait_log w2 'ui reply done' 1
wait_gone w2 'stopping the reply' 20
t $? "'stopping the reply' leaves the status bar when the reply has stopped"
T send-keys -t w2 "/quit" Enter
# ---- The line chat keeps what was typed when Ctrl-C stops a reply ------
start x 80 24 --plain -t 1 --seed 7 -n 2000
wait_for x '\] > $' 150
T send-keys -t x "Once upon a time" Enter
wait_for x 'Once upon a time.*[a-z]+ [a-z]+ [a-z]+' 100
T send-keys -t x "keep me"
T send-keys -t x C-c
wait_for x '\] > keep me$' 100; t $? "the line chat keeps what was typed during a reply Ctrl-C stopped"
T send-keys -t x C-u "/quit" Enter
# ---- The line chat wraps words, lists sessions, cuts whole characters --
start lw 40 30 --plain -t 1 --seed 7 -n 120
wait_for lw '\] > $' 150
T send-keys -t lw "Once upon a time" Enter
wait_for lw 'prompt [0-9]+ tokens|\] > $' 100
says lw "/load" '[0-9:]+  故事$' \
    "the line chat's /load alone lists the saved conversations"
says lw "/system" '翻译: 你是一名专业的中英翻译。$' "and /system the prompts"
T send-keys -t lw "/quit" Enter
wait_dead lw
# Joined, a line the terminal wrapped is one line again: none of the
# reply's may be wider than the screen.
T capture-pane -J -p -t lw | awk '/\] > Once upon/ {on=1; next}
    /\] > / {on=0} on' >"$tmp/lw.reply"
[ "$(wc -l <"$tmp/lw.reply")" -ge 3 ] &&
    widths <"$tmp/lw.reply" | awk '$1 > 40 {bad=1} END {exit bad}'
t $? "the line chat wraps a reply at words, within 40 columns"
# ---- /save and /export never replace what is there unless told -------
start y 80 24 "$demo"
turns y "keep this"
T send-keys -t y "/save mine" Enter
wait_for y "saved as 'mine'"
T send-keys -t y "/new" Enter
wait_for y 'conversation cleared'
T send-keys -t y "/save mine" Enter
wait_for y "not saved: another conversation is saved as 'mine'" 30 &&
    grep -q 'keep this' "$sessions/mine.yaml"
t $? "/new then /save NAME refuses to replace NAME, which keeps its messages"
T send-keys -t y "/export $tmp/out.md" Enter
wait_for y "exported to $tmp/out.md" 30
T send-keys -t y "/export $tmp/out.md" Enter
wait_for y "not exported: $tmp/out.md exists" 30; t $? "/export FILE over a file: refused"
T send-keys -t y "/save x" Enter
wait_for y "saved as 'x'"
T send-keys -t y "/load" Enter
wait_for y '^ +x +20[0-9-]+ ' 30 && settle y &&
    grep -E '^ +(x|mine) +20[0-9-]+ ' "$tmp/screen" |
    awk '{ match($0, / 20[0-9][0-9]-/); c[RSTART]++ } END { exit length(c) != 1 }'
t $? "the /load picker's dates line up under names of other widths"
T send-keys -t y Escape
printf 'yangtuo_session: 1\nmodel: "other.gguf"\nmessages:\n  - role: user\n    time: 1764190000\n    text: "hi"\n' \
    >"$sessions/other.yaml"
T send-keys -t y "/load other" Enter
wait_for y 'saved with other\.gguf; stories260K\.gguf reads it' 30
t $? "loading a conversation saved with another model says so"
T send-keys -t y "/quit" Enter
# ---- --resume brings back the system prompt switched to ---------------
start z 80 24 "$chatml"
wait_for z 'temp 0\.20' 150
T send-keys -t z "/system 翻译" Enter
wait_for z 'sys 翻译'
T send-keys -t z "hi" Enter
wait_log z 'ui reply done' 1
T send-keys -t z "/quit" Enter
wait_dead z
T kill-session -t z
start z 80 24 "$chatml --resume"
wait_for z 'temp 0\.20' 150
wait_for z 'sys 翻译' 30; t $? "--resume restores the system prompt switched to with /system"
grep -q 'resumed the last conversation (2 messages)' "$tmp/screen"
t $? "and says it resumed on the screen, at once"
T send-keys -t z "/quit" Enter
wait_dead z
# The demo (no chat template): its banner above the restored messages; a
# system prompt it cannot use is said to be unused.
start z2 80 24 "$demo --resume"
wait_for z2 'temp 0\.20' 150
b=$(grep -n 'This is the demo model' "$tmp/screen" | head -1 | cut -d: -f1)
y=$(grep -n '^You  ' "$tmp/screen" | head -1 | cut -d: -f1)
[ -n "$b" ] && [ -n "$y" ] && [ "$b" -lt "$y" ]
t $? "the demo banner is above the restored messages ($b < $y)"
T send-keys -t z2 "/system 写作助手" Enter
wait_for z2 'sys 写作助手 \(unused\)' 30 && settle z2 &&
    grep -q 'no chat template: the system prompt is not used' "$tmp/screen"
t $? "a system prompt the model cannot take: said, and marked unused"
says z2 "/system Answer in one short sentence." 'sys custom: Answer in one short' \
    "/system TEXT sets a prompt of one's own, shown as custom and its first words"
T send-keys -t z2 "/system pirat" Enter
wait_for z2 "no system prompt named 'pirat'" 30 && settle z2 && grep -q 'sys custom: Answer' "$tmp/screen"
t $? "/system with a one-word typo is refused; the prompt stays"
says z2 "/set system hello" 'sys custom: hello' "/set system TEXT takes one word too"
T send-keys -t z2 "/quit" Enter
# ---- Temperature changed while a reply streams --------------------------
"$bin" quantize --random small Q4_0 "$tmp/small.gguf" >/dev/null 2>&1
# The random model may sample its end of text early (which seed does
# depends on the CPU's kernels): take the first seed whose reply is still
# going a second after its 20th token.
for seed in 3 4 5 6 7 8 9 10 11 12 13 14; do
	start s 80 24 -m "'$tmp/small.gguf'" -t 1 -c 4096 -n -1 \
	    --seed $seed --template none
	wait_for s 'temp 0\.20' 150
	T send-keys -t s "hello" Enter
	wait_log s 'sample n=20 ' 1 100
	sleep 1
	grep -q 'ui reply done' "$tmp/s.log" 2>/dev/null || break
	T kill-session -t s 2>/dev/null
	rm -f "$tmp/s.log"
done
T send-keys -t s F4
wait_for s 'replying.*temp 0\.30' 20; t $? "F4 raises the temperature during a reply (status bar)"
wait_log s 'temperature=0\.300' 3 50
T send-keys -t s C-c
wait_log s 'ui reply done' 1 300
# The mark is in the reply's header; when the machine is busy the tiny
# model can write more than a screen before the keys arrive, so page up
# to the header if it has left the screen.
cut=1
for i in 1 2 3 4 5 6 7 8 9 10; do
	wait_for s '\(cut\)' 10 && { cut=0; break; }
	T send-keys -t s PPage
done
[ $cut = 0 ]; t $? "Ctrl-C stops the reply and keeps what came"
if [ $cut != 0 ]; then
	grep -E 'ui reply done|cancel' "$tmp/s.log" | tail -3 | sed 's/^/# /'
	screen s | sed 's/^/# | /'
fi
if grep -q 'sample n=' "$tmp/s.log"; then
	# After the UI's change, at most one token (already being sampled)
	# may still use the old value; from then on every token has 0.30.
	awk '/ui set temp=0.30/ {set=1; next}
	    /sample n=/ { t = $0; sub(/.*temperature=/, "", t); sub(/ .*/, "", t)
		if (!set && t != "0.200") bad++
		if (set && t == "0.200") { late++; if (seen) bad++ }
		if (set && t == "0.300") seen = 1 }
	    END { exit !(seen && !bad && late <= 1) }' "$tmp/s.log"
	t $? "the sampler log shows 0.30 from the next token on"
else
	skip "the engine does not log sampled tokens"
fi

# ---- Keystroke echo while a 1B-shaped model generates --------------------
if [ -n "$YT_SKIP_SLOW" ]; then
	skip "YT_SKIP_SLOW is set"
elif [ -z "$YT_LATENCY" ]; then
	# Its pass or fail follows the machine's load (it failed with other
	# work running, twin or not): make bench measures it, not make check.
	skip "keystroke echo latency: 'make bench' measures it (YT_LATENCY=1)"
elif ! command -v script >/dev/null 2>&1; then
	skip "script(1) is not installed"
elif ! "$bin" quantize --random 1b Q4_0 "$tmp/1b.gguf" >/dev/null 2>&1; then
	t 1 "quantize --random 1b makes the latency model"
else
	# Two yangtuo at once, keys typed into each in turn: one idle (the
	# small model, nothing to do), one generating with the 1B model.
	# The idle one sees what the machine does to any echo (other jobs,
	# the pty relays); the busy one adds what our own engine does to
	# the UI.  Pass: p99 under 20 ms or, when the machine itself is
	# slow, within 10 ms of the idle twin's p99.  A UI that waited for
	# the engine would be off by a token's time at every key and by
	# the whole prefill at some.  Two tries.
	for try in 1 2; do
	rm -f "$tmp/lat.log"
	LINES=24 COLUMNS=80 perl - "$bin" "$tmp/small.gguf" "$tmp/1b.gguf" \
	    "$tmp/lat.log" >"$tmp/lat" 2>&1 <<'EOF'
use strict; use warnings;
use Time::HiRes qw(time sleep);
use IPC::Open2; use IO::Select;
my ($bin, $small, $big, $log) = @ARGV;
my $k = "\xe7\xbe\x8a";	# a character no synthetic token contains
my $sel = IO::Select->new;
my %by_fd;
sub launch { my @cmd = @_;
	my $cmd = join(' ', map { "'$_'" } @cmd);
	my $s = { buf => '', all => '', n => 0, lat => [] };
	$s->{pid} = open2($s->{out}, $s->{in}, 'script', '-q', '-e', '-c',
	    $cmd, '/dev/null');
	binmode $s->{out}; binmode $s->{in}; $s->{in}->autoflush(1);
	$sel->add($s->{out}); $by_fd{fileno $s->{out}} = $s;
	return $s }
# Read whatever either one wrote (a full pty would stall its writer);
# count the marks in the new bytes only, keeping the last two for a
# mark split across reads.
sub pump { my $t = shift; while (my @r = $sel->can_read($t)) {
	for my $fh (@r) { my $s = $by_fd{fileno $fh};
		my $r = sysread($fh, my $b, 65536);
		unless ($r) { $sel->remove($fh); next }
		$s->{all} .= $b if length $s->{all} < 1e5;
		$s->{buf} .= $b;
		my $c = () = $s->{buf} =~ /$k/g;
		$s->{n} += $c;
		$s->{buf} =~ s/.*$k//s if $c;
		$s->{buf} = substr($s->{buf}, -2) if length $s->{buf} > 2 }
	$t = 0 } }
sub wait_for { my ($s, $re, $tmo) = @_; my $end = time + $tmo;
	while (time < $end) { pump(0.05); return 1 if $s->{all} =~ $re }
	0 }
sub key { my $s = shift; my $n = $s->{n}; my $t0 = time;
	syswrite($s->{in}, $k);
	while (time < $t0 + 2) { pump(0.001); last if $s->{n} > $n }
	push @{$s->{lat}}, (time - $t0) * 1000 }
my $idle = launch($bin, '-m', $small, '-t', '1', '-c', '256');
my $busy = launch($bin, '-m', $big, '-c', '1024', '-n', '-1',
    '--log-file', $log);
wait_for($idle, qr/temp 0/, 120) or die "the idle chat did not start\n";
wait_for($busy, qr/temp 0/, 120) or die "the chat did not start\n";
syswrite($busy->{in}, "hello\r");
# Generating once the sampler logs its first token.
my $end = time + 120;
until (time > $end or (-s $log and `cat '$log'` =~ /sample n=/)) { pump(0.05) }
time <= $end or die "no reply\n";
for my $i (1 .. 100) {
	if ($i % 30 == 0) { syswrite($_->{in}, "\x15") for $idle, $busy;
		sleep 0.05; pump(0.01) }
	key($idle); sleep 0.015; key($busy); sleep 0.015;
}
syswrite($busy->{in}, "\x03\x15"); sleep 0.5;
syswrite($_->{in}, "/quit\r") for $idle, $busy;
for (1 .. 200) { pump(0.05);
	last if waitpid($idle->{pid}, 1) != 0 && waitpid($busy->{pid}, 1) != 0 }
for ($idle, $busy) { kill 'TERM', $_->{pid} if waitpid($_->{pid}, 1) == 0;
	close $_->{in} }
my @i = sort { $a <=> $b } @{$idle->{lat}};
my @b = sort { $a <=> $b } @{$busy->{lat}};
printf "p50 %.2f p99 %.2f max %.2f ms; idle twin p50 %.2f p99 %.2f ms\n",
    $b[49], $b[98], $b[99], $i[49], $i[98];
EOF
	p99=$(sed -n 's/^p50 .* p99 \([0-9.]*\) max.*/\1/p' "$tmp/lat")
	ip99=$(sed -n 's/.*idle twin .* p99 \([0-9.]*\) ms$/\1/p' "$tmp/lat")
	lat_ok() { awk -v p="$p99" -v i="$ip99" \
	    'BEGIN { exit !(p < 20 || p < i + 10) }'; }
	[ -n "$p99" ] && [ -n "$ip99" ] && lat_ok && break
	done
	if [ -z "$p99" ] || [ -z "$ip99" ]; then
		t 1 "keystroke echo measured while generating"; diag "$tmp/lat"
	elif [ -n "$YT_SANITIZERS" ]; then
		skip "sanitizer build, keystroke echo $(grep -a '^p50' "$tmp/lat")"
	else
		lat_ok
		t $? "keystroke echo while generating: $(grep -a '^p50' "$tmp/lat") (p99 < 20 ms, or < idle p99 + 10 ms)"
	fi
	grep -q 'sample n=' "$tmp/lat.log" 2>/dev/null || grep -q 'ui reply done' "$tmp/lat.log"
	t $? "the model was generating meanwhile"
fi

if [ -n "$YT_SANITIZERS" ]; then
	T kill-server >/dev/null 2>&1
	sleep 1
	! ls "$tmp"/asan.* "$tmp"/ubsan.* >/dev/null 2>&1
	t $? "no sanitizer report"
	cat "$tmp"/asan.* "$tmp"/ubsan.* 2>/dev/null | head -40 | sed 's/^/# /'
fi

echo "1..$n"
exit $fail
