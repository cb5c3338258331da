#!/bin/sh
# Regenerate the llama.cpp perplexity reference of story.txt on the demo
# model (run by hand; needs ../../../../shared/reference/setup):
# llama.cpp's tokens of the file with BOS, chunks of 128 with BOS in front,
# llama.cpp's distributions per chunk, scored as llama-perplexity does.
set -eu
ref=${REF:-../../../../shared/reference/llamacpp-ref.mjs}
model=${MODEL:-../../../data/stories260K.gguf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY'
import sys
t=open('story.txt').read()
open(sys.argv[1]+'/s.inp','w').write(t+'\n__ggml_vocab_test__\n')
PY
node "$ref" tokenize "$model" "$tmp/s.inp" >"$tmp/s.out"
/usr/bin/python3 - "$tmp" <<'PY'
import sys, json
d=sys.argv[1]
ids=[1]+[int(x) for x in open(d+'/s.out').read().split()]
n=128
for c in range(len(ids)//n):
    ch=ids[c*n:(c+1)*n]; ch[0]=1
    json.dump(ch, open('%s/c%d.json'%(d,c),'w'))
json.dump(ids, open(d+'/ids.json','w'))
PY
for f in "$tmp"/c*.json; do node "$ref" probs "$model" "$f" "${f%.json}.f32" >/dev/null; done
/usr/bin/python3 - "$tmp" <<'PY' >expected.json
import sys, json, math, struct, glob
d=sys.argv[1]
ids=json.load(open(d+'/ids.json')); n=128; V=512
nll=0.0; cnt=0; chunks=len(ids)//n
for c in range(chunks):
    raw=open('%s/c%d.f32'%(d,c),'rb').read()
    p=struct.unpack('%df'%(len(raw)//4), raw)
    for i in range(n//2, n-1):
        nll+=-math.log(p[i*V+ids[c*n+i+1]]); cnt+=1
print(json.dumps({"model":"stories260K.gguf","file":"story.txt","n_ctx":n,
 "chunks":chunks,"tokens":len(ids),"scored":cnt,"perplexity":math.exp(nll/cnt)}))
PY
cat expected.json
