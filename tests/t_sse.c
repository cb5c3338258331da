/*
 * The server-sent events parser (net/sse.c) on the framings the
 * OpenAI-compatible servers send: role-only first chunk, usage in the
 * last, ": ping" comments, data: [DONE], CRLF and CR endings, several
 * data lines, events split at every byte, bounds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/sse.h"
#include "tap.h"

struct got {
	char	buf[4096];
	size_t	len;
	int	n;
	int	stop_at;	/* the callback stops at this event (1-based) */
};

/* Events joined with '|'. */
static int
collect(void *arg, const char *data, size_t len)
{
	struct got	*g = arg;

	if (g->len + len + 1 < sizeof g->buf) {
		if (g->n > 0)
			g->buf[g->len++] = '|';
		memcpy(g->buf + g->len, data, len);
		g->len += len;
		g->buf[g->len] = '\0';
	}
	g->n++;
	return g->stop_at != 0 && g->n == g->stop_at ? 7 : 0;
}

/* Feed in pieces of `step` bytes (0: whole): the events. */
static int
run(const char *in, size_t step, size_t max, struct got *g)
{
	struct sse	s;
	size_t		i, n = strlen(in), k;
	int		r = 0;

	memset(g->buf, 0, sizeof g->buf);
	g->len = 0;
	g->n = 0;
	sse_init(&s, max);
	for (i = 0; i < n && r == 0; i += k) {
		k = step == 0 || step > n - i ? n - i : step;
		r = sse_feed(&s, in + i, k, collect, g);
	}
	sse_free(&s);
	return r;
}

static const char *openai =
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
    ": ping\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n\n"
    "data: [DONE]\n\n";
static const char *want =
    "{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}|"
    "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}|"
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":3}}|[DONE]";

int
main(void)
{
	struct got	 g;
	char		*crlf, *cr;
	size_t		 i, j, step, n = strlen(openai);
	int		 all = 1;

	memset(&g, 0, sizeof g);
	run(openai, 0, 1 << 20, &g);
	ok(g.n == 4 && strcmp(g.buf, want) == 0, "role chunk, ping comment, "
	    "content, usage chunk and [DONE]: 4 events");
	for (step = 1; step <= 7; step++) {
		run(openai, step, 1 << 20, &g);
		all &= g.n == 4 && strcmp(g.buf, want) == 0;
	}
	ok(all, "the same events when fed 1..7 bytes at a time");

	/* CRLF and CR endings, split at every byte. */
	crlf = malloc(2 * n + 1);
	cr = malloc(n + 1);
	for (i = j = 0; i < n; i++) {
		if (openai[i] == '\n')
			crlf[j++] = '\r';
		crlf[j++] = openai[i];
		cr[i] = openai[i] == '\n' ? '\r' : openai[i];
	}
	crlf[j] = '\0';
	cr[n] = '\0';
	all = 1;
	for (step = 0; step <= 5; step++) {
		run(crlf, step, 1 << 20, &g);
		all &= g.n == 4 && strcmp(g.buf, want) == 0;
	}
	ok(all, "CRLF endings, whole and split at every byte");
	all = 1;
	for (step = 0; step <= 3; step++) {
		run(cr, step, 1 << 20, &g);
		all &= g.n == 4 && strcmp(g.buf, want) == 0;
	}
	ok(all, "CR endings");
	free(crlf);
	free(cr);

	run("data:a\ndata: b\ndata\n\n", 0, 100, &g);
	ok(g.n == 1 && strcmp(g.buf, "a\nb\n") == 0,
	    "data lines join with newlines; one space after the colon goes");
	run("event: message\nid: 3\nretry: 10\ndata: x\n\n:c\n\n\n\n", 0,
	    100, &g);
	ok(g.n == 1 && strcmp(g.buf, "x") == 0,
	    "other fields, comments and empty events are no events");
	run("data: x\n\ndata: y", 0, 100, &g);
	ok(g.n == 1, "an event without its ending empty line is not given");
	ok(run("data: 0123456789012345678901234567890\n\n", 0, 16, &g) == -1,
	    "a line over the bound: -1");
	ok(run("data: 0123456789\ndata: 0123456789\n\n", 3, 20, &g) == -1,
	    "an event over the bound, in pieces: -1");
	g.stop_at = 2;
	ok(run(openai, 0, 1 << 20, &g) == 7 && g.n == 2,
	    "the callback's nonzero stops the feed and is returned");
	g.stop_at = 0;
	run("data: {\"error\":{\"message\":\"boom\"}}\r\n\r\n", 1, 100, &g);
	ok(g.n == 1 && strcmp(g.buf, "{\"error\":{\"message\":\"boom\"}}") ==
	    0, "an error object arrives as an event");
	return tap_done();
}
