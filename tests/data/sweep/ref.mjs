// llama.cpp's distributions for tests/t_sweep.c (run by make.sh, by hand):
//   node ref.mjs MODEL.gguf OUT.bin [--full FULL.f32]
// Rows, in order: for every token t of the vocabulary (every 32nd when the
// vocabulary is over 4096), the distribution after [BOS, t]; then the
// distribution after every prefix of a random 513-token sequence (seeded
// by the vocabulary size), evaluated 27 tokens per batch: under 64, where
// llama.cpp takes its small-batch path, and 513 = 19 x 27, so no batch is
// a lone token (llama.cpp v0.5.0 splits a lone token's attention over
// 256+ keys across threads, which adds in another order).  OUT.bin holds a
// header (magic "YTSW", n_vocab, n_pair, n_seq, then the n_pair pair
// tokens and the n_seq sequence tokens as uint32) and per row the top 8
// ids (uint32) and their probabilities (float32), highest first.
import fs from 'fs';
import os from 'os';
import path from 'path';

const ref = process.env.YT_REF || path.join(os.homedir(), '.cache', 'yangtuo-ref');
const { getLlama, LlamaLogLevel } = await import(path.join(ref, 'node_modules',
	'node-llama-cpp', 'dist', 'index.js'));
const [modelPath, outFile, ...rest] = process.argv.slice(2);
const fullFile = rest.includes('--full') ? rest[rest.indexOf('--full') + 1] : null;
const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true,
	logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const ctx = await model.createContext({ contextSize: 1024, threads: 2, batchSize: 27 });
const seq = ctx.getSequence();
const bos = model.tokens.bos;
const opt = { generateNext: { probabilities: true,
	options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } };

async function rows(toks) {
	await seq.clearHistory();
	const res = await seq.controlledEvaluate(toks.map((t) => [t, opt]));
	return res.map((r) => r.next.probabilities);
}
// The vocabulary size: the first distribution's largest id + 1.
const first = (await rows([bos]))[0];
let V = 0;
for (const k of first.keys()) V = Math.max(V, k + 1);
const step = V > 4096 ? 32 : 1;
const pairs = [];
for (let t = 0; t < V; t += step) pairs.push(t);
// xorshift32 seeded by V: the sequence t_sweep.c reads back from OUT.bin.
let x = 2463534242 ^ V;
const sq = [bos];
while (sq.length < 513) {
	x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
	sq.push(x % V);
}
const out = [];
for (const t of pairs) out.push((await rows([bos, t]))[1]);
for (const r of await rows(sq)) out.push(r);
const head = new Uint32Array([0x57535459, V, pairs.length, sq.length, ...pairs, ...sq]);
const body = Buffer.alloc(out.length * 64);
const full = fullFile ? new Float32Array(out.length * V) : null;
out.forEach((m, i) => {
	const top = [...m.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 8);
	top.forEach(([id, p], j) => {
		body.writeUInt32LE(id, i * 64 + j * 4);
		body.writeFloatLE(p, i * 64 + 32 + j * 4);
	});
	if (full) for (const [k, p] of m) full[i * V + k] = p;
});
fs.writeFileSync(outFile, Buffer.concat([Buffer.from(head.buffer), body]));
if (full) fs.writeFileSync(fullFile, Buffer.from(full.buffer));
console.log(JSON.stringify({ model: path.basename(modelPath), n_vocab: V,
	n_pair: pairs.length, n_seq: sq.length, rows: out.length }));
await ctx.dispose();
await model.dispose();
