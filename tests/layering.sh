#!/bin/sh
# The layering rules of DESIGN.md: engine/ never includes curses, readline,
# yaml or libintl, nor a front-end header (only its own and common/'s);
# common/ includes only itself; ui/ never includes engine headers;
# libengine.a links without the UI libraries and holds only engine code.
# jansson is the exception of the importers (safetensors.c, hf*.c,
# lora_peft.c), which read the JSON of Hugging Face folders and PEFT
# adapters; no other engine file may use it.
# TAP output.
src=${YT_SRCDIR:-$(dirname "$0")/..}
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*[<"](n?cursesw?/?|ncurses|curses|readline/|yaml\.h|libintl\.h)' "$src/engine" 2>/dev/null)
[ -z "$hits" ]; t $? "engine/ includes no UI, config or i18n header"
[ -n "$hits" ] && echo "$hits" | sed 's/^/# /'

hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*[<"]jansson\.h' "$src/engine" 2>/dev/null | grep -vE '/engine/(safetensors|hf[a-z_]*|lora_peft)\.[ch]:')
[ -z "$hits" ]; t $? "in engine/ only the importers include jansson.h"
[ -n "$hits" ] && echo "$hits" | sed 's/^/# /'

hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*"(\.\./)?(fe|src|tools|ui)/' "$src/engine" "$src/common" 2>/dev/null)
[ -z "$hits" ]; t $? "engine/ and common/ include no front-end header"
[ -n "$hits" ] && echo "$hits" | sed 's/^/# /'

hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*"(\.\./)?engine/' "$src/common" "$src/fe" "$src/ui" 2>/dev/null | grep -v 'fe/client\.c:.*engine/engine\.h' | grep -v 'fe/modelsum\.c:.*engine/' )
[ -z "$hits" ]; t $? "common/, fe/ and ui/ include no engine header (the client starts it)"
[ -n "$hits" ] && echo "$hits" | sed 's/^/# /'

hits=$(grep -rnE '#[[:space:]]*include[[:space:]]*"(\.\./)?engine/' "$src/ui" 2>/dev/null)
[ -z "$hits" ]; t $? "ui/ includes no engine header"
[ -n "$hits" ] && echo "$hits" | sed 's/^/# /'

hits=$(grep -rnE '\b(printf|puts|exit|abort)[[:space:]]*\(' "$src/engine" 2>/dev/null | grep -vE 'snprintf|vsnprintf|asprintf|vasprintf|/\*' )
[ -z "$hits" ]; t $? "engine/ neither prints nor exits"
[ -n "$hits" ] && echo "$hits" | sed 's/^/# /'

if [ -f libengine.a ]; then
	syms=$(nm -u libengine.a 2>/dev/null | grep -E ' U (initscr|wrefresh|readline|rl_|yaml_|gettext)' | head -3)
	[ -z "$syms" ]; t $? "libengine.a needs no curses, readline, yaml or gettext symbol"
	[ -n "$syms" ] && echo "$syms" | sed 's/^/# /'
	syms=$(nm -A -u libengine.a 2>/dev/null | grep -E ' U json_' | grep -vE ':libengine_a-(safetensors|hf[a-z_]*|lora_peft)\.o:' | head -3)
	[ -z "$syms" ]; t $? "only the importers' objects need jansson symbols"
	[ -n "$syms" ] && echo "$syms" | sed 's/^/# /'
	objs=
	for o in $(ar t libengine.a 2>/dev/null); do
		b=${o#libengine_a-}; b=${b%.o}
		[ -f "$src/engine/$b.c" ] || objs="$objs $o"
	done
	[ -z "$objs" ]; t $? "libengine.a holds only engine/ objects"
	[ -n "$objs" ] && echo "$objs" | sed 's/^/# /'
fi
echo "1..$n"
exit $fail
