#!/bin/sh
# The Chinese interface: po/zh_CN.po is complete (msgfmt --check, and no
# message of the sources is missing from it), and with LANG=zh_CN.UTF-8
# every screen of the full-screen chat (tmux), the line chat's /help and
# --help are in Chinese, with no English UI phrase left.  The slash
# commands' Chinese names work in both chats.  The catalogue is compiled
# here and found through YANGTUO_LOCALEDIR; the zh_CN.UTF-8 locale is
# made here with localedef (LOCPATH) when the system lacks it, else the
# screen tests are skipped.  TAP output.
bin=${YT_BIN:-./yangtuo}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
src=${YT_SRCDIR:-$(dirname "$0")/..}
po=$src/po/zh_CN.po
tmp=$(mktemp -d) || exit 1
sock=yti$$
T() { tmux -u -L "$sock" -f /dev/null "$@"; }
cleanup() {
	command -v tmux >/dev/null 2>&1 && T kill-server >/dev/null 2>&1
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

slow=1
if [ -n "$YT_SANITIZERS" ]; then
	slow=4
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$tmp/asan"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$tmp/ubsan"
fi
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
export XDG_STATE_HOME="$tmp/state" XDG_CACHE_HOME="$tmp/cache"
export LANG=C.UTF-8 TERM=xterm-256color
unset LC_ALL LC_MESSAGES LANGUAGE LOCPATH NO_COLOR COLUMNS LINES TMUX
mkdir -p "$XDG_CONFIG_HOME/yangtuo" "$XDG_DATA_HOME/yangtuo/sessions"
cat >"$XDG_CONFIG_HOME/yangtuo/config.yaml" <<'EOF'
prompts:
  - name: 翻译
    text: "你是一名专业的中英翻译。"
  - name: 写作助手
    text: "你是一位耐心的中文写作助手。"
EOF
cat >"$XDG_DATA_HOME/yangtuo/sessions/旧对话.yaml" <<'EOF'
yangtuo_session: 1
messages:
  - role: user
    time: 1764190000
    text: "从前有一只小猫。"
  - role: assistant
    time: 1764190001
    text: "它很喜欢晒太阳。"
EOF

# ---- The catalogue -------------------------------------------------------
if ! command -v msgfmt >/dev/null 2>&1; then
	skip "msgfmt is not installed"
else
	msgfmt --check --statistics -o "$tmp/zh_CN.mo" "$po" 2>"$tmp/stat"
	r=$?
	[ $r = 0 ] && grep -qE '^[0-9]+ translated messages?\.$' "$tmp/stat"
	t $? "msgfmt --check --statistics: $(cat "$tmp/stat")"
	[ $r != 0 ] && diag "$tmp/stat"
fi
if ! command -v xgettext >/dev/null 2>&1 || ! command -v msgcmp >/dev/null 2>&1
then
	skip "xgettext or msgcmp is not installed"
else
	# Every marked message of the sources has a translation.
	grep -v '^#' "$src/po/POTFILES.in" | grep . >"$tmp/potfiles"
	(cd "$src" && xgettext --keyword=_ --keyword=N_ --from-code=UTF-8 \
	    --files-from="$tmp/potfiles" -o "$tmp/yangtuo.pot") 2>"$tmp/xg"
	msgcmp "$po" "$tmp/yangtuo.pot" >"$tmp/cmp" 2>&1
	t $? "po/zh_CN.po translates every message of po/POTFILES.in's files"
	diag "$tmp/cmp" | head -20
	# ... and every file that marks messages is listed there.
	missing=
	for f in $(cd "$src" && grep -l '_("' common/*.c fe/*.c src/*.c tools/*.c ui/*.c); do
		grep -qx "$f" "$tmp/potfiles" || missing="$missing $f"
	done
	[ -z "$missing" ]; t $? "po/POTFILES.in lists every file using _()${missing:+: missing$missing}"
fi

# ---- A zh_CN.UTF-8 locale ------------------------------------------------
zh=
if locale -a 2>/dev/null | grep -qixE 'zh_CN\.utf-?8'; then
	zh=system
elif command -v localedef >/dev/null 2>&1; then
	mkdir -p "$tmp/locale"
	localedef -i zh_CN -f UTF-8 "$tmp/locale/zh_CN.UTF-8" >/dev/null 2>&1
	[ -f "$tmp/locale/zh_CN.UTF-8/LC_CTYPE" ] && zh=localedef
fi
if [ -z "$zh" ] || [ ! -f "$tmp/zh_CN.mo" ]; then
	echo "ok $((n+1)) # SKIP no zh_CN.UTF-8 locale (locale -a; localedef from the package locales) or no msgfmt"
	echo "1..$((n+1))"
	exit $fail
fi
mkdir -p "$tmp/mo/zh_CN/LC_MESSAGES"
cp "$tmp/zh_CN.mo" "$tmp/mo/zh_CN/LC_MESSAGES/yangtuo.mo"
# The environment of a Chinese user; Z runs a command in it.
ZENV="LANG=zh_CN.UTF-8 YANGTUO_LOCALEDIR=$tmp/mo"
[ "$zh" = localedef ] && ZENV="$ZENV LOCPATH=$tmp/locale"
Z() { env $ZENV "$@"; }

# no_english FILE WHAT PHRASE...: none of the phrases is in FILE.
no_english() {
	f=$1 what=$2; shift 2
	for p in "$@"; do
		if grep -qiF -- "$p" "$f"; then
			t 1 "$what: no English ('$p' found)"; diag "$f"; return
		fi
	done
	t 0 "$what: no English UI phrase"
}

# ---- --help, usage errors, the line chat ---------------------------------
Z "$bin" --help >"$tmp/help" 2>&1
grep -q '^用法：yangtuo' "$tmp/help" && grep -q '报告问题' "$tmp/help"
t $? "--help is in Chinese"
# The build folder's own catalogs (locale/ beside the binary): LANG alone.
env LANG=zh_CN.UTF-8 ${ZENV#*YANGTUO_LOCALEDIR=$tmp/mo} "$bin" --help \
    >"$tmp/help2" 2>&1
grep -q '^用法：yangtuo' "$tmp/help2"
t $? "--help is in Chinese with LANG alone, from the build folder"
no_english "$tmp/help" "--help" "Usage:" "Report bugs" "display this help" \
    "chat in the terminal" "Sampling:"
Z "$bin" --threads=x >"$tmp/err" 2>&1
grep -q '无效的 --threads 值' "$tmp/err" && grep -q 'yangtuo --help' "$tmp/err"
t $? "a usage error is in Chinese"
printf 'top_k: lots\n' >"$tmp/bad.yaml"
Z "$bin" --config "$tmp/bad.yaml" -p x </dev/null >"$tmp/err" 2>&1
grep -q 'bad.yaml:1:8: 键“top_k”：应为整数，而不是“lots”' "$tmp/err"
t $? "a config error is in Chinese"

demo="-t 1 --seed 7 -n 8"
printf '/帮助\n/统计\n/bogus\n/载入 不存在\n/退出\n' |
    Z "$bin" --plain $demo >"$tmp/plain" 2>&1
grep -q '输入消息后按 Enter 发送' "$tmp/plain" && grep -q '/保存 名称 */save' "$tmp/plain"
t $? "--plain: /帮助 prints the help in Chinese, both names of each command"
grep -q '^模型：' "$tmp/plain" && grep -q '^系统提示词：' "$tmp/plain"
t $? "--plain: /统计 answers in Chinese"
grep -q '未知命令 /bogus' "$tmp/plain" && grep -q '^载入失败：' "$tmp/plain"
t $? "--plain: errors are in Chinese"
no_english "$tmp/plain" "--plain" "Type a message" "this text" "leave" \
    "unknown command" "not loaded" "system prompt:" "model:" "threads"
printf '/统计\n/退出\n' | "$bin" --plain $demo >"$tmp/plain.c" 2>&1
grep -q '^model: ' "$tmp/plain.c"
t $? "--plain in the C locale: English, and the Chinese names still work"

# ---- The full-screen chat ------------------------------------------------
if ! command -v tmux >/dev/null 2>&1; then
	skip "tmux is not installed"
	echo "1..$n"
	exit $fail
fi
start() {	# NAME WIDTH HEIGHT ARGS...
	s=$1 w=$2 h=$3; shift 3
	printf '%s\n' "exec env $ZENV TERM=xterm-256color '$bin' --log-file '$tmp/$s.log' $*" \
	    >"$tmp/$s.sh"
	T new-session -d -s "$s" -x "$w" -y "$h" \
	    "sh '$tmp/$s.sh'; echo \$? >'$tmp/$s.status'" \; \
	    set-option -t "$s" remain-on-exit on >/dev/null
}
screen() { T capture-pane -p -t "$1" 2>/dev/null; }
wait_for() {	# NAME REGEX [TENTHS]: until the screen matches
	i=0 lim=$(( ${3:-100} * slow ))
	while [ $i -lt $lim ]; do
		screen "$1" >"$tmp/screen"
		grep -qE -- "$2" "$tmp/screen" && return 0
		sleep 0.1; i=$((i+1))
	done
	return 1
}
wait_log() {	# NAME REGEX COUNT: until the debug log has COUNT lines
	i=0 lim=$((100 * slow))
	while [ $i -lt $lim ]; do
		[ "$(grep -cE -- "$2" "$tmp/$1.log" 2>/dev/null)" -ge "$3" ] &&
		    return 0
		sleep 0.1; i=$((i+1))
	done
	return 1
}
wait_dead() {
	i=0; while [ $i -lt $((100 * slow)) ]; do
		[ -s "$tmp/$1.status" ] && return 0
		sleep 0.1; i=$((i+1)); done; return 1
}
keep() { cp "$tmp/screen" "$tmp/$1"; }
widths() {
	perl -CSD -ne 'chomp; my $w = 0; for (split //) {
		next if /\p{Mn}|\p{Me}|\x{200D}|\x{FE0F}/;
		$w += /\p{EA=W}|\p{EA=F}/ ? 2 : 1 } print "$w\n"'
}
start a 80 24 "$demo"
wait_for a '温度 0\.20' 150; t $? "the chat starts with a Chinese status bar"
keep main
grep -q '上下文 \[' "$tmp/main" && grep -q '提示词 default' "$tmp/main" &&
    grep -q '这是演示模型' "$tmp/main"
t $? "main screen: context, system prompt and the demo note in Chinese"
no_english "$tmp/main" "main screen" "temp 0" "ctx [" "sys default" "tmpl" \
    "F1 help" "demo model" "This is the demo model" "F1 shows the keys"
T send-keys -t a "你好" Enter
wait_log a 'ui reply done' 1
wait_for a '^助手  [0-9:]+  [0-9]+ 个 token'; t $? "a reply's header is in Chinese"
keep reply
grep -q '^你  [0-9:]' "$tmp/reply"; t $? "and so is the message's"
no_english "$tmp/reply" "the transcript's headers" "You  " "Assistant" \
    " tokens," "(stopped"

T send-keys -t a F1
wait_for a '^ yangtuo 帮助' && wait_for a '发送消息'; t $? "F1: the help is in Chinese"
keep help1
T send-keys -t a NPage
wait_for a '/载入 \[名称\] +/load'; t $? "F1, a page down: the commands with both names"
keep help2
cat "$tmp/help1" "$tmp/help2" >"$tmp/help"
no_english "$tmp/help" "F1 help" "Keys" "Commands" "send the message" \
    "this help" "scroll the conversation" "Esc: close" "choose the system" \
    "answer the last" "leave"
T resize-window -t a -x 200 -y 60
sleep 0.3
screen a | awk '/^ yangtuo 帮助/ {on=1; next} /Esc：关闭/ {on=0} on' >"$tmp/page"
[ "$(wc -l <"$tmp/page")" -gt 40 ] && widths <"$tmp/page" |
    awk '$1 > 79 {bad=1} END {exit bad}'
t $? "every help line fits an 80-column terminal"
T resize-window -t a -x 80 -y 24
T send-keys -t a Escape "/帮助" Enter
wait_for a '^ yangtuo 帮助'; t $? "/帮助 opens the help too"
T send-keys -t a Escape F2
wait_for a '^ 系统提示词' && grep -q '写作助手' "$tmp/screen" &&
    grep -q 'Enter：选择' "$tmp/screen"
t $? "F2: the system prompt picker is in Chinese"
keep picker
no_english "$tmp/picker" "system prompt picker" "System prompt" "move" \
    "choose" "cancel" "type to filter"
T send-keys -t a "写作" Enter
wait_for a '系统提示词：写作助手' && wait_for a '提示词 写作助手'
t $? "choosing a prompt: a Chinese note and status bar"
T send-keys -t a "/统计" Enter
wait_for a '^  上次回复的停止原因' && grep -q '^  模型：' "$tmp/screen"
t $? "/统计 shows the statistics in Chinese"
keep stats
no_english "$tmp/stats" "/stats" "  model: " "template," "threads" \
    "system prompt:" "last reply" "stopped (" "cached tokens" "evaluated"
T send-keys -t a "/bogus" Enter
wait_for a '未知命令 /bogus（/帮助' ; t $? "an unknown command: a Chinese error note"
T send-keys -t a "/载入 不存在" Enter
wait_for a '载入失败：'; t $? "a failed /载入: a Chinese error note"
keep errors
no_english "$tmp/errors" "error notes" "unknown command" "not loaded" \
    "lists them"
T send-keys -t a "/设置 temperature 0.5" Enter
wait_for a '温度 0\.50'; t $? "/设置 sets a parameter"
T send-keys -t a "/保存 测试" Enter
wait_for a '已保存为“测试”'; t $? "/保存 saves, with a Chinese note"
[ -f "$XDG_DATA_HOME/yangtuo/sessions/测试.yaml" ]; t $? "under the name given"
T send-keys -t a "/载入" Enter
wait_for a '^ 载入对话' && grep -qE '^ 旧对话  20[0-9-]+ [0-9:]+  2 条消息  从前有一只小猫。' "$tmp/screen"
t $? "/载入: the session picker is in Chinese"
keep sessions
no_english "$tmp/sessions" "session picker" "Load a conversation" \
    "messages" "choose" "cancel"
T send-keys -t a "旧对话" Enter
wait_for a '已载入“旧对话”（2 条消息）'; t $? "choosing one loads it"
T send-keys -t a "/重答" Enter
wait_log a 'ui reply done' 2; t $? "/重答 answers again"
T send-keys -t a "/编辑" Enter
wait_for a '^> 从前有一只小猫。$'; t $? "/编辑 takes the last message back"
T send-keys -t a C-u "/导出 $tmp/export.md" Enter
wait_for a "已导出到 $tmp/export.md" && grep -q '^# 对话' "$tmp/export.md"
t $? "/导出 writes Markdown with Chinese headings"
T send-keys -t a "/清空" Enter
wait_for a '对话已清空' && ! grep -q '^你  ' "$tmp/screen"
t $? "/清空 clears the conversation"
T send-keys -t a "/保" Tab
wait_for a '^> /保存 ?$'; t $? "Tab completes a Chinese command name"
T send-keys -t a C-u C-f "狗狗狗"
wait_for a '^搜索：狗狗狗' && wait_for a '（无匹配）'
t $? "Ctrl-F: the search line is in Chinese"
T send-keys -t a Escape "/退出" Enter
wait_dead a && [ "$(cat "$tmp/a.status")" = 0 ]; t $? "/退出 leaves with status 0"

if [ -n "$YT_SANITIZERS" ]; then
	T kill-server >/dev/null 2>&1
	sleep 1
	! ls "$tmp"/asan.* "$tmp"/ubsan.* >/dev/null 2>&1
	t $? "no sanitizer report"
	cat "$tmp"/asan.* "$tmp"/ubsan.* 2>/dev/null | head -40 | sed 's/^/# /'
fi
echo "1..$n"
exit $fail
