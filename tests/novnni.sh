#!/bin/sh
# The AVX2 paths on a CPU with AVX512-VNNI: the kernels pick VNNI at run
# time, so on such a CPU the unit tests check only those; run the ones
# whose paths differ again with YANGTUO_NO_VNNI=1 (the Q4_K decode dot,
# the AVX2 kernel over repacked Q4_K, Q8_0 unrepacked, against the dots,
# the scalar twins and llama.cpp).  TAP output.
bld=$(dirname "${YT_BIN:-./yangtuo}")
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

for prog in t_quant_k t_gemm_k t_forward; do
	out=$(YANGTUO_NO_VNNI=1 "$bld/tests/$prog" 2>&1)
	rc=$?
	if echo "$out" | grep -q '^1\.\.0 # SKIP'; then
		n=$((n+1)); echo "ok $n # SKIP $prog: $(echo "$out" | sed -n 's/^1\.\.0 # SKIP //p')"
		continue
	fi
	all=$(echo "$out" | grep -c '^ok')
	bad=$(echo "$out" | grep -c '^not ok')
	[ $rc = 0 ] && [ "$bad" = 0 ] && [ "$all" -gt 0 ]
	t $? "$prog with YANGTUO_NO_VNNI=1: $all passed, $bad failed"
	[ "$bad" = 0 ] || echo "$out" | grep '^not ok' | head -5 | sed 's/^/# /'
done
echo "1..$n"
exit $fail
