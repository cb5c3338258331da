#!/bin/sh
# The other ways in, as users run them: the seed's llama.cpp chat.sh with
# the binary's name changed, the seed's ollama Modelfile, a model in a
# store laid out as ollama lays it, and their errors.  TAP output.
bin=${YT_BIN:-./yangtuo}
td=${YT_TESTDATA:-../shared/testdata}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
model=$td/models/stories260K.gguf
if [ ! -f "$model" ]; then
	echo "1..0 # SKIP no test data"; exit 0
fi
# No config or journal of the user's; the first prompt of a log.
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
	XDG_STATE_HOME="$tmp/home/.state" XDG_DATA_HOME="$tmp/home/.data" \
	XDG_CACHE_HOME="$tmp/home/.cache"
mkdir -p "$HOME" "$XDG_CONFIG_HOME/yangtuo"
# chat.sh sets no -n: short replies keep the test fast (and its -t 6
# slow on a busy machine).
printf 'max_tokens: 24\n' >"$XDG_CONFIG_HOME/yangtuo/config.yaml"
first_prompt() { grep -a 'prompt n=' "$1" | head -1 | sed 's/^[0-9.]* //'; }

# 1. The seed's scripts/llama_cpp/chat.sh, "./main" made "$YT".
cat >"$tmp/chat.sh" <<'CHAT'
#!/bin/bash

# script to chat with Llama-3-Chinese-Instruct model
# usage: ./chat.sh llama-3-chinese-instruct-gguf-model-path your-first-instruction
# WARNING: the hyperparameters are not optimal, please tune them yourself

FIRST_INSTRUCTION=$2
SYSTEM_PROMPT="You are a helpful assistant. 你是一个乐于助人的助手。"

$YT -m $1 --color -i \
-c 0 -t 6 --temp 0.2 --repeat_penalty 1.1 -ngl 999 \
--in-prefix '<|start_header_id|>user<|end_header_id|>\n\n' \
--in-suffix '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n' \
-p "<|start_header_id|>system<|end_header_id|>\n\n$SYSTEM_PROMPT<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n$FIRST_INSTRUCTION<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
CHAT
if command -v bash >/dev/null 2>&1; then
	echo "Tell me about Lily." | YT="$bin" bash "$tmp/chat.sh" "$model" \
		"Once upon a time" >"$tmp/out" 2>"$tmp/err"; r=$?
	[ $r = 0 ] && [ -s "$tmp/out" ]; t $? "chat.sh as written: exit 0 and replies"
	grep -q -- '-ngl: yangtuo runs on the CPU' "$tmp/err"; t $? "-ngl: a one-line note"
	[ "$(grep -c . "$tmp/err")" = 1 ]; t $? "nothing else on stderr ($(cat "$tmp/err"))"
	# Its prompt is the llama3 template's for that system and user text.
	echo "Tell me about Lily." | YT="$bin --log-file $tmp/l1" bash "$tmp/chat.sh" \
		"$model" "Once upon a time" >/dev/null 2>&1
	"$bin" -m "$model" --template llama3 --temp 0.2 -n 1 --log-file "$tmp/l2" \
		--system "You are a helpful assistant. 你是一个乐于助人的助手。" \
		-p "Once upon a time" >/dev/null 2>&1
	[ -n "$(first_prompt "$tmp/l1")" ] && [ "$(first_prompt "$tmp/l1")" = "$(first_prompt "$tmp/l2")" ]
	t $? "chat.sh's prompt: the llama3 template's tokens ($(first_prompt "$tmp/l1"))"
	[ "$(grep -ac 'prompt n=' "$tmp/l1")" = 2 ]; t $? "the typed line is a second turn"
else
	for i in 1 2 3 4 5; do t 0 "# SKIP no bash"; done
fi

# 2. The seed's scripts/ollama/Modelfile, FROM a path beside it.
mkdir -p "$tmp/mf"
cp "$model" "$tmp/mf/ggml-model-q8_0.gguf"
cat >"$tmp/mf/Modelfile" <<'MF'
FROM ./ggml-model-q8_0.gguf
TEMPLATE """{{ if .System }}<|start_header_id|>system<|end_header_id|>

{{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>

{{ .Prompt }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

{{ .Response }}<|eot_id|>"""
SYSTEM """You are a helpful assistant. 你是一个乐于助人的助手。"""
PARAMETER num_keep 24
PARAMETER stop <|start_header_id|>
PARAMETER stop <|end_header_id|>
PARAMETER stop <|eot_id|>
PARAMETER stop assistant
MF
"$bin" -m "$tmp/mf/Modelfile" -p "Once upon a time" -n 4 --log-file "$tmp/l3" >/dev/null 2>"$tmp/err"
r=$?; [ $r = 0 ] && [ "$(first_prompt "$tmp/l3")" = "$(first_prompt "$tmp/l2")" ]
t $? "-m Modelfile: its template and SYSTEM give the llama3 prompt ($(cat "$tmp/err"))"
"$bin" --modelfile "$tmp/mf/Modelfile" --plain -n 4 --log-file "$tmp/l4" </dev/null >/dev/null 2>&1
t $? "--modelfile FILE"
"$bin" info "$tmp/mf/Modelfile" >"$tmp/out" 2>&1 && grep -q '^PARAMETER stop <|eot_id|>' "$tmp/out" &&
	grep -q '^model: .*ggml-model-q8_0.gguf' "$tmp/out" && grep -q 'llama.block_count' "$tmp/out"
t $? "info shows the Modelfile, then the model"

# Template, temperature and stop strings at work: greedy up to " named".
printf 'FROM %s\nTEMPLATE {{ .Prompt }}\nPARAMETER temperature 0\nPARAMETER stop " named"\n' \
	"$model" >"$tmp/mf/plain"
"$bin" -m "$tmp/mf/plain" -p "Once upon a time" -n 40 >"$tmp/out" 2>&1
want=$("$bin" -m "$model" --template none --temp 0 -p "Once upon a time" -n 40 2>/dev/null)
[ "$(cat "$tmp/out")" = "${want%% named*}" ] && [ "$want" != "${want%% named*}" ]
t $? "PARAMETER temperature 0 and stop: the greedy reply, cut before the stop ($(cat "$tmp/out"))"

# MESSAGE lines open the conversation, as --history would.
printf 'FROM %s\nmessage user Hi\nMESSAGE assistant "Once upon a time"\n' "$model" >"$tmp/mf/msgs"
"$bin" -m "$tmp/mf/msgs" -p Lily -n 1 --log-file "$tmp/l8" >/dev/null 2>&1
printf '[{"role":"user","content":"Hi"},{"role":"assistant","content":"Once upon a time"}]' >"$tmp/h.json"
"$bin" -m "$model" --history "$tmp/h.json" -p Lily -n 1 --log-file "$tmp/l9" >/dev/null 2>&1
[ -n "$(first_prompt "$tmp/l8")" ] && [ "$(first_prompt "$tmp/l8")" = "$(first_prompt "$tmp/l9")" ]
t $? "MESSAGE: the opening conversation ($(first_prompt "$tmp/l8"))"

# Malformed Modelfiles: file:line.
printf 'FROM ./ggml-model-q8_0.gguf\n\nTEMPLATE """{{ if .System }}x\n"""\n' >"$tmp/mf/bad1"
"$bin" -m "$tmp/mf/bad1" -p x >/dev/null 2>"$tmp/err"; r=$?
[ $r = 1 ] && grep -q "bad1:3: TEMPLATE: unclosed action" "$tmp/err"
t $? "a broken TEMPLATE: exit 1 and file:line ($(cat "$tmp/err"))"
printf 'FROM ./ggml-model-q8_0.gguf\nPARAMETER temperature hot\n' >"$tmp/mf/bad2"
"$bin" --modelfile "$tmp/mf/bad2" -p x >/dev/null 2>"$tmp/err"; r=$?
[ $r = 1 ] && grep -q "bad2:2: PARAMETER temperature hot" "$tmp/err"
t $? "a bad PARAMETER value: exit 1 and file:line"
printf 'FROM ./nothing.gguf\n' >"$tmp/mf/bad3"
"$bin" --modelfile "$tmp/mf/bad3" -p x >/dev/null 2>"$tmp/err"; r=$?
[ $r = 1 ] && grep -q "bad3:1: FROM .*nothing.gguf: No such file" "$tmp/err"
t $? "a missing FROM file: exit 1 and file:line"

# 3. ollama's store, laid out as ollama lays it.
store=$tmp/ollama
mkdir -p "$store/blobs" "$store/manifests/registry.ollama.ai/library/tiny"
blob() { d=$(sha256sum "$1" | cut -c1-64); cp "$1" "$store/blobs/sha256-$d"; echo "$d"; }
printf '{{ .Prompt }}' >"$tmp/t"; printf 'Be brief.' >"$tmp/s"
printf '{"temperature":0,"stop":[" named"]}' >"$tmp/p"
dm=$(blob "$model"); dt=$(blob "$tmp/t"); ds=$(blob "$tmp/s"); dp=$(blob "$tmp/p")
size=$(wc -c <"$model")
cat >"$store/manifests/registry.ollama.ai/library/tiny/latest" <<MAN
{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
 "layers":[
  {"mediaType":"application/vnd.ollama.image.model","digest":"sha256:$dm","size":$size},
  {"mediaType":"application/vnd.ollama.image.template","digest":"sha256:$dt","size":13},
  {"mediaType":"application/vnd.ollama.image.system","digest":"sha256:$ds","size":9},
  {"mediaType":"application/vnd.ollama.image.params","digest":"sha256:$dp","size":$(wc -c <"$tmp/p")}]}
MAN
OLLAMA_MODELS=$store "$bin" -m ollama:tiny -p "Once upon a time" -n 40 >"$tmp/out2" 2>&1
[ "$(cat "$tmp/out2")" = "${want%% named*}" ]
t $? "-m ollama:tiny: the store's template, temperature and stop ($(cat "$tmp/out2"))"
OLLAMA_MODELS=$store "$bin" info ollama:tiny >"$tmp/out" 2>&1 &&
	grep -q '^SYSTEM Be brief.' "$tmp/out" && grep -q '^PARAMETER stop  named' "$tmp/out" &&
	grep -q 'llama.block_count' "$tmp/out"
t $? "info ollama:tiny: the layers, then the model"
printf 'FROM tiny\nPARAMETER stop " little"\n' >"$tmp/mf/over"
OLLAMA_MODELS=$store "$bin" -m "$tmp/mf/over" -p "Once upon a time" -n 40 >"$tmp/out2" 2>&1
[ "$(cat "$tmp/out2")" = "${want%% little*}" ]
t $? "a Modelfile FROM an ollama model adds its own stop"
mkdir -p "$store/manifests/registry.ollama.ai/library/bad"
printf '{"layers":[\n{"mediaType":"application/vnd.ollama.image.model",\n"digest":"sha256:%s","size":1}]}\n' \
	"$dm" >"$store/manifests/registry.ollama.ai/library/bad/latest"
OLLAMA_MODELS=$store "$bin" -m ollama:bad -p x >/dev/null 2>"$tmp/err"; r=$?
[ $r = 1 ] && grep -q "bad/latest: layers\[0\] (model): blob .* has $size bytes, the manifest says 1" "$tmp/err"
t $? "a manifest whose size lies: a clear error"
printf '{"layers":[\n{"mediaType":\n' >"$store/manifests/registry.ollama.ai/library/bad/latest"
OLLAMA_MODELS=$store "$bin" -m ollama:bad -p x >/dev/null 2>"$tmp/err"; r=$?
[ $r = 1 ] && grep -q "bad/latest:3: " "$tmp/err"; t $? "a malformed manifest: file:line"
OLLAMA_MODELS=$store "$bin" -m ollama:absent -p x >/dev/null 2>"$tmp/err"; r=$?
[ $r = 1 ] && grep -q "no ollama model 'absent'" "$tmp/err"; t $? "a model not in the store"

# ADAPTER (a Modelfile's, or an ollama adapter layer): the LoRA adapter
# applied as --lora applies it.
tl=$(dirname "$bin")/tests/t_lora
if [ -x "$tl" ] && YT_TESTDATA=$td "$tl" --write stories "$tmp/mf/a.gguf" >/dev/null 2>&1; then
	printf 'FROM %s\nADAPTER ./a.gguf\nTEMPLATE {{ .Prompt }}\nPARAMETER temperature 0\n' \
		"$model" >"$tmp/mf/lora"
	"$bin" -m "$tmp/mf/lora" -p "Once upon a time" -n 20 >"$tmp/out" 2>&1
	lw=$("$bin" -m "$model" --lora "$tmp/mf/a.gguf" --template none --temp 0 \
		-p "Once upon a time" -n 20 2>&1)
	[ "$(cat "$tmp/out")" = "$lw" ] && [ "$lw" != "$("$bin" -m "$model" --template none \
		--temp 0 -p "Once upon a time" -n 20 2>&1)" ]
	t $? "ADAPTER: the reply --lora gives, not the base model's"
	da=$(blob "$tmp/mf/a.gguf")
	mkdir -p "$store/manifests/registry.ollama.ai/library/tinylora"
	sed "s/\]}\$/,{\"mediaType\":\"application\/vnd.ollama.image.adapter\",\"digest\":\"sha256:$da\",\"size\":$(wc -c <"$tmp/mf/a.gguf")}]}/" \
		"$store/manifests/registry.ollama.ai/library/tiny/latest" \
		>"$store/manifests/registry.ollama.ai/library/tinylora/latest"
	OLLAMA_MODELS=$store "$bin" -m ollama:tinylora -p "Once upon a time" -n 20 \
		--stop '' >"$tmp/out" 2>&1
	[ "$(cat "$tmp/out")" = "$lw" ]; t $? "an ollama adapter layer: the same reply"
else
	t 0 "# SKIP no tests/t_lora"; t 0 "# SKIP no tests/t_lora"
fi

# 4. llama-cli's other flags: -f, -r in -i mode, -cnv's -p as the system prompt.
printf 'Once upon a time\n' >"$tmp/prompt.txt"
"$bin" -m "$model" -i -r " named" -f "$tmp/prompt.txt" --temp 0 -n 40 </dev/null >"$tmp/out" 2>&1
[ "$(cat "$tmp/out")" = "${want%% named*}" ]; t $? "-i -f FILE -r TEXT: the prompt continued up to the reverse prompt"
"$bin" -m "$model" -cnv -p "Be brief." --template llama3 -n 1 --log-file "$tmp/l5" </dev/null >/dev/null 2>&1
echo hi | "$bin" -m "$model" -cnv -p "Be brief." --template llama3 -n 1 --log-file "$tmp/l6" >/dev/null 2>&1
"$bin" -m "$model" --system "Be brief." --template llama3 -n 1 -p hi --log-file "$tmp/l7" >/dev/null 2>&1
[ "$(first_prompt "$tmp/l6")" = "$(first_prompt "$tmp/l7")" ]; t $? "-cnv -p TEXT: TEXT is the system prompt"
echo "1..$n"
exit $fail
