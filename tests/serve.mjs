// The protocol side of tests/serve.sh (which starts the server): the
// official OpenAI client library and plain HTTP against `yangtuo serve`.
// YT_PHASE=api: a server with --queue 0 and a key; YT_PHASE=load: a
// server with --queue 4, no key, SIGTERMed (YT_PID) during a stream at
// the end.  TAP lines on stdout; the shell adds the plan.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import net from 'node:net';

const require = createRequire(process.env.YT_OPENAI + '/package.json');
const OpenAI = require('openai').default ?? require('openai');

const port = Number(process.env.YT_PORT);
const base = `http://127.0.0.1:${port}`;
const prompt = process.env.YT_PROMPT;
let n = 0;
const ok = (c, what) => console.log(`${c ? '' : 'not '}ok ${++n} - ${what}`);
const diag = (s) => console.log(`# ${s}`);

async function api() {
	const key = process.env.YT_KEY;
	const want = readFileSync(process.env.YT_WANT_FILE, 'utf8');
	const client = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0 });
	const msgs = [{ role: 'user', content: prompt }];

	let r = await fetch(base + '/health');
	ok(r.status === 200 && (await r.json()).status === 'ok', '/health answers ok without a key');
	r = await fetch(base + '/v1/models');
	ok(r.status === 401, '/v1/models without the key: 401');
	r = await fetch(base + '/v1/chat/completions', { method: 'POST',
		headers: { Authorization: 'Bearer wrong', 'Content-Type': 'application/json' },
		body: JSON.stringify({ messages: msgs }) });
	const e401 = await r.json();
	ok(r.status === 401 && typeof e401.error?.message === 'string', 'a wrong key: 401 with an error object');

	const models = await client.models.list();
	const ids = models.data.map((m) => m.id);
	ok(ids.length === 1 && ids[0] === 'stories260K', `the openai client lists the model (${ids})`);
	ok(models.data[0].max_model_len > 0, 'the model says its context (max_model_len)');

	// Streaming, as the openai library does it.
	const stream = await client.chat.completions.create({ model: ids[0], messages: msgs,
		temperature: 0, max_tokens: 40, stream: true, stream_options: { include_usage: true } });
	const chunks = [];
	for await (const c of stream) chunks.push(c);
	const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
	ok(text === want, 'a streamed chat completion has the text of yangtuo -p at temperature 0');
	if (text !== want) diag(`got ${JSON.stringify(text)} want ${JSON.stringify(want)}`);
	ok(chunks[0].choices[0].delta.role === 'assistant' && chunks[0].choices[0].delta.content === undefined,
		'the first chunk carries the role only');
	const last = chunks[chunks.length - 1];
	const fin = chunks.find((c) => c.choices[0]?.finish_reason);
	ok(fin && fin.choices[0].finish_reason === 'length', 'the reply ends with finish_reason length (max_tokens)');
	ok(last.choices.length === 0 && last.usage?.completion_tokens === 40 && last.usage.prompt_tokens > 0,
		'the last chunk carries usage (include_usage)');

	// Not streamed; the same conversation again reuses the cached prefix.
	const whole = await client.chat.completions.create({ model: ids[0], messages: msgs,
		temperature: 0, max_tokens: 40 });
	ok(whole.choices[0].message.content === want, 'a chat completion without streaming has the same text');
	ok(whole.usage.completion_tokens === 40 && whole.usage.total_tokens ===
		whole.usage.prompt_tokens + 40, 'usage counts the tokens');
	ok(whole.usage.prompt_tokens_details.cached_tokens > 0, 'the repeated prompt prefix came from the cache');

	// The raw continuation endpoint: the demo model has no chat template,
	// so the prompt is continued as in the chat.
	const cmpl = await client.completions.create({ model: ids[0], prompt, temperature: 0, max_tokens: 40 });
	ok(cmpl.choices[0].text === want, '/v1/completions continues the prompt');

	// Per-request parameters: a bad one is a 400 naming it; unknown ones are ignored.
	r = await fetch(base + '/v1/chat/completions', { method: 'POST',
		headers: { Authorization: `Bearer ${key}` },
		body: JSON.stringify({ messages: msgs, top_p: 7 }) });
	const e400 = await r.json();
	ok(r.status === 400 && /top_p/.test(e400.error.message), 'a bad top_p: 400 naming it');
	r = await fetch(base + '/v1/chat/completions', { method: 'POST',
		headers: { Authorization: `Bearer ${key}` },
		body: JSON.stringify({ messages: msgs, max_tokens: 3, temperature: 0, frobnicate: { x: 1 },
			presence_penalty: 0.5, user: 'u' }) });
	ok(r.status === 200 && (await r.json()).usage.completion_tokens === 3,
		'unknown fields are ignored; max_tokens applies');
	// Stop strings: the reply ends before the first one, which is not sent.
	const cut = want.indexOf(' little');
	const stopped = await client.chat.completions.create({ model: ids[0], messages: msgs,
		temperature: 0, max_tokens: 40, stop: [' little', 'zzz'] });
	ok(cut > 0 && stopped.choices[0].message.content === want.slice(0, cut) &&
		stopped.choices[0].finish_reason === 'stop', 'stop strings end the reply before them');
	r = await fetch(base + '/v1/chat/completions', { method: 'POST',
		headers: { Authorization: `Bearer ${key}` }, body: '{"messages": [' });
	ok(r.status === 400, 'a body that is not JSON: 400');
	r = await fetch(base + '/v1/nope', { headers: { Authorization: `Bearer ${key}` } });
	ok(r.status === 404, 'an unknown endpoint: 404');
	const big = await rawRequest(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n` +
		`Authorization: Bearer ${key}\r\nContent-Length: ${9 << 20}\r\nConnection: close\r\n\r\n{`);
	ok(/^HTTP\/1\.1 413/.test(big), 'a body over the limit: 413');

	// The queue (--queue 0): a request whose body is still coming holds
	// the only place (the server said "100 Continue" once it was
	// admitted), so another one is told 503 with Retry-After.
	const body = JSON.stringify({ messages: msgs, temperature: 0, max_tokens: 4 });
	const sock = net.connect(port, '127.0.0.1');
	let got = '';
	const cont = new Promise((res) => sock.on('data', (d) => { got += d; if (/100 Continue/.test(got)) res(); }));
	sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n` +
		`Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n` +
		'Connection: close\r\n\r\n');
	await cont;
	r = await fetch(base + '/v1/chat/completions', { method: 'POST',
		headers: { Authorization: `Bearer ${key}` }, body });
	ok(r.status === 503 && r.headers.get('retry-after') !== null, 'queue full: 503 with Retry-After');
	await r.text();
	// (No half-close: a client that shuts its side is taken as gone.)
	const done = new Promise((res) => sock.on('close', res));
	sock.write(body);
	await done;
	ok(/HTTP\/1\.1 200/.test(got) && /"completion_tokens":4/.test(got), 'the admitted request is answered');

	// A client that goes away mid-stream: the reply is cancelled (the
	// shell checks the log) and the engine is free for the next one.
	const ac = new AbortController();
	const s2 = await client.chat.completions.create({ model: ids[0], messages: msgs, temperature: 0,
		max_tokens: 2000, stream: true }, { signal: ac.signal });
	let k = 0;
	try {
		for await (const c of s2) { if (c.choices[0]?.delta?.content && ++k === 3) ac.abort(); }
	} catch (e) { /* aborted */ }
	let after = null;
	for (let i = 0; i < 50 && after === null; i++) {
		try {
			after = await client.chat.completions.create({ model: ids[0], messages: msgs, temperature: 0, max_tokens: 40 });
		} catch (e) {
			if (e.status !== 503) throw e;
			await new Promise((res) => setTimeout(res, 100));
		}
	}
	ok(after !== null && after.choices[0].message.content === want, 'after a client went away the next request is answered');
}

// Send raw bytes; the whole answer once the server closes.
function rawRequest(text) {
	return new Promise((res) => {
		const sock = net.connect(port, '127.0.0.1');
		let got = '';
		sock.on('data', (d) => { got += d; });
		sock.on('error', () => res(got));
		sock.on('close', () => res(got));
		sock.write(text);
	});
}

function pct(a, p) { return a[Math.min(a.length - 1, Math.floor(p / 100 * a.length))]; }

async function load() {
	const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'none', maxRetries: 0 });

	// A client that sends a request without streaming and hangs up at
	// once: the reply is cancelled at its start (the shell reads the log)
	// rather than run to the end of the context.
	const body = JSON.stringify({ messages: [{ role: 'user', content: prompt }], temperature: 0,
		max_tokens: 100000 });
	const gone = await new Promise((res) => {
		const sock = net.connect(port, '127.0.0.1', () => sock.end('POST /v1/chat/completions HTTP/1.1\r\n' +
			`Host: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
		sock.on('error', () => res(false));
		sock.on('close', () => res(true));
		sock.resume();
	});
	ok(gone, 'a client that hangs up is let go');

	const lat = [];
	let answered = 0, busy = 0, other = 0;
	const one = async (i) => {
		const t0 = performance.now();
		try {
			const r = await client.chat.completions.create({ model: 'stories260K', temperature: 0.8, seed: i,
				messages: [{ role: 'user', content: `${prompt} ${i}` }], max_tokens: 8 });
			if (r.choices[0].finish_reason) answered++; else other++;
			lat.push(performance.now() - t0);
		} catch (e) {
			if (e.status === 503) busy++; else { other++; diag(`client error: ${e.message}`); }
		}
	};
	const clients = [];
	for (let c = 0; c < 8; c++)
		clients.push((async () => { for (let j = 0; j < 20; j++) await one(c * 100 + j); })());
	await Promise.all(clients);
	ok(answered + busy === 160 && other === 0, `8 clients x 20 requests: ${answered} answered, ${busy} told 503, ${other} other`);
	ok(answered > 0, 'some requests were answered under load');
	lat.sort((a, b) => a - b);
	if (lat.length)
		diag(`latency ms: p50 ${pct(lat, 50).toFixed(1)} p90 ${pct(lat, 90).toFixed(1)} p99 ${pct(lat, 99).toFixed(1)} max ${lat[lat.length - 1].toFixed(1)}`);
	// 30 clients at once (the queue holds 4): each is answered or told 503.
	answered = busy = other = 0;
	const burst = [];
	for (let c = 0; c < 30; c++)
		burst.push((async () => { for (let j = 0; j < 2; j++) await one(5000 + c * 10 + j); })());
	await Promise.all(burst);
	ok(answered + busy === 60 && other === 0 && answered > 0,
		`30 clients at once x 2 requests: ${answered} answered, ${busy} told 503, ${other} other`);
	const r = await fetch(base + '/health');
	ok(r.status === 200, 'the server is alive after the load');

	// SIGTERM during a stream: the reply is cancelled and its stream ends
	// properly (a finish chunk, then [DONE]).
	const s = await client.chat.completions.create({ model: 'stories260K', temperature: 0,
		messages: [{ role: 'user', content: prompt }], max_tokens: 100000, stream: true });
	let k = 0, fin = null, err = null;
	try {
		for await (const c of s) {
			if (c.choices[0]?.delta?.content && ++k === 2) process.kill(Number(process.env.YT_PID), 'SIGTERM');
			if (c.choices[0]?.finish_reason) fin = c.choices[0].finish_reason;
		}
	} catch (e) { err = e; }
	ok(err === null && fin !== null, `SIGTERM: the stream under way ends cleanly (${fin ?? err})`);
}

try {
	await (process.env.YT_PHASE === 'load' ? load() : api());
} catch (e) {
	ok(false, `unexpected: ${e.stack ?? e}`);
	process.exit(1);
}
