// Time to first token in llama.cpp, for tests/ttft.sh: node-llama-cpp from
// $YT_REF (as ../shared/reference/llamacpp-ref.mjs installs it), the chat
// rendered with the Llama-3 markup as special tokens, greedy, one token.
//
//   node ttft-ref.mjs MODEL.gguf CHAT.json [--threads N]
//
// Prints JSON: seconds from this process's start to the library being
// ready (node's own start, not llama.cpp's), to the model loaded, and to
// the first reply token; and the prompt's token count.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { performance } from 'perf_hooks';

const ref = process.env.YT_REF || path.join(os.homedir(), '.cache', 'yangtuo-ref');
const entry = path.join(ref, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
if (!fs.existsSync(entry)) {
	console.error(`ttft-ref: ${entry} missing; run ../shared/reference/setup first`);
	process.exit(2);
}
const [modelPath, chatFile, ...rest] = process.argv.slice(2);
if (!modelPath || !chatFile) {
	console.error('usage: ttft-ref.mjs MODEL.gguf CHAT.json [--threads N]');
	process.exit(2);
}
const i = rest.indexOf('--threads');
const threads = i >= 0 ? Number(rest[i + 1]) : 2;
const now = () => performance.now() / 1000;	// seconds since process start

const { getLlama, LlamaLogLevel } = await import(entry);
const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true,
	logLevel: LlamaLogLevel.error });
const tReady = now();
const model = await llama.loadModel({ modelPath });
const tLoaded = now();
let text = '';
for (const m of JSON.parse(fs.readFileSync(chatFile, 'utf8')))
	text += `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content}<|eot_id|>`;
text += '<|start_header_id|>assistant<|end_header_id|>\n\n';
const toks = [model.tokens.bos, ...model.tokenize(text, true)];
const ctx = await model.createContext({ contextSize: toks.length + 64, threads,
	batchSize: Math.min(512, toks.length) });
const seq = ctx.getSequence();
let first = null;
for await (const t of seq.evaluate(toks, { temperature: 0 })) {
	first = t;
	break;
}
const tFirst = now();
console.log(JSON.stringify({ ready_s: tReady, loaded_s: tLoaded, first_token_s: tFirst,
	prompt_tokens: toks.length, token: first }));
await ctx.dispose();
await model.dispose();
