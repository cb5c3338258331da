// A hostile OpenAI-compatible server for tests/remote.sh, on a free
// loopback port (printed first).  The last user message picks what a
// chat gets: escape-laden text, malformed data, an error object
// mid-stream, HTTP 401 / 429, an oversized event, a stream cut short.
// GET /state says how many chat requests came and when a hanging
// stream was closed by the client.
import http from 'node:http';

let count = 0, closed = 0, closedAt = 0;
const sse = (res, events, end = true) => {
	res.writeHead(200, { 'Content-Type': 'text/event-stream' });
	for (const e of events) res.write(e);
	if (end) res.end();
};
const chunk = (o) => `data: ${JSON.stringify(o)}\r\n\r\n`;
const delta = (content) => chunk({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const role = chunk({ choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] });
const fin = chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });

const srv = http.createServer((req, res) => {
	let body = '';
	req.on('data', (d) => { body += d; });
	req.on('end', () => {
		if (req.url === '/state') return res.end(JSON.stringify({ count, closed, closedAt }));
		if (req.url === '/v1/models') {
			res.writeHead(200, { 'Content-Type': 'application/json' });
			return res.end(JSON.stringify({ data: [{ id: 'evil\u001b[31m', max_model_len: 4096 }] }));
		}
		if (req.url !== '/v1/chat/completions') { res.writeHead(404); return res.end(); }
		count++;
		const msgs = JSON.parse(body).messages;
		const mode = msgs[msgs.length - 1].content.trim();
		switch (mode) {
		case 'escape':
			return sse(res, [role, ': ping\n\n', delta('\u001b]0;pwned\u0007\u001b[2Jsafe'),
				delta(' text\u009b31m'), fin, 'data: [DONE]\n\n']);
		case 'malformed':
			return sse(res, [role, 'data: {not json\n\n']);
		case 'error':
			return sse(res, [role, delta('partial'),
				chunk({ error: { message: 'boom\u001b[5m from the server' } })]);
		case '401':
			res.writeHead(401, { 'Content-Type': 'application/json' });
			return res.end(JSON.stringify({ error: { message: 'invalid key \u001b[31m' } }));
		case '429':
			res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '0' });
			return res.end(JSON.stringify({ error: { message: 'slow down' } }));
		case 'huge':
			return sse(res, [role, 'data: "' + 'x'.repeat(2 << 20) + '"\n\n']);
		case 'hang':
			// Some text, then nothing until the client goes away.
			res.writeHead(200, { 'Content-Type': 'text/event-stream' });
			res.write(role + delta('waiting'));
			res.on('close', () => { closed++; closedAt = Date.now(); });
			return;
		case 'nostream':
			// A server that ignores "stream": one JSON answer.
			res.writeHead(200, { 'Content-Type': 'application/json' });
			return res.end(JSON.stringify({ choices: [{ index: 0, finish_reason: 'length',
				message: { role: 'assistant', content: 'whole \u001b[1manswer' } }],
				usage: { prompt_tokens: 2, completion_tokens: 3 } }));
		case 'early':
			res.writeHead(200, { 'Content-Type': 'text/event-stream' });
			res.write(role + delta('half'));
			return setTimeout(() => res.destroy(), 100);
		default:
			return sse(res, [role, delta('ok'), fin, 'data: [DONE]\n\n']);
		}
	});
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
