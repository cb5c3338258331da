/*
 * Stop strings: the streaming matcher against a direct search of the
 * whole text, for every way the text can arrive in pieces; and the
 * parameters' encoding, which refuses what the engine must not take.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/proto.h"
#include "common/stopstr.h"
#include "tests/tap.h"

/* What the reader should see: text up to the earliest stop string. */
static size_t
expect(const struct proto_params *p, const char *t, size_t n, int *hit)
{
	size_t		best = n, at, len;
	uint32_t	i;

	*hit = 0;
	for (i = 0; i < p->n_stop; i++) {
		len = strlen(p->stop[i]);
		for (at = 0; at + len <= n; at++)
			if (memcmp(t + at, p->stop[i], len) == 0) {
				if (at < best)
					best = at;
				*hit = 1;
				break;
			}
	}
	return best;
}

/* Stream t in pieces cut where cuts[] says; the text shown and hit. */
static size_t
stream(const struct proto_params *p, const char *t, size_t n,
    const size_t *cuts, size_t n_cuts, char *shown, int *hit)
{
	struct stopstr	s;
	char		out[256 + PROTO_STOP_MAX];
	size_t		from = 0, to, k, len = 0, o;

	stopstr_init(&s, p);
	for (k = 0; k <= n_cuts; k++) {
		to = k < n_cuts ? cuts[k] : n;
		o = stopstr_feed(&s, t + from, to - from, out);
		memcpy(shown + len, out, o);
		len += o;
		from = to;
	}
	o = stopstr_flush(&s, out);
	memcpy(shown + len, out, o);
	*hit = s.hit;
	return len + o;
}

static void
add(struct proto_params *p, const char *s)
{
	strcpy(p->stop[p->n_stop++], s);
}

/* Every single cut and every pair of cuts of a few texts. */
static void
test_cuts(void)
{
	static const char *texts[] = {
		"Hello, User: how are you?\nUser: fine",
		"abababac and more",
		"no stop here at all, just Use and Us",
		"你好，用户：再见",
		"ends in a prefix: Use",
	};
	struct proto_params	p;
	char			shown[256];
	size_t			cuts[2], n, want, got, i, a, b;
	int			hit, whit, bad = 0, runs = 0;

	memset(&p, 0, sizeof p);
	add(&p, "User:");
	add(&p, "ababac");
	add(&p, "用户：");
	add(&p, "\n\n");
	for (i = 0; i < sizeof texts / sizeof *texts; i++) {
		n = strlen(texts[i]);
		want = expect(&p, texts[i], n, &whit);
		for (a = 0; a <= n; a++)
			for (b = a; b <= n; b++) {
				cuts[0] = a;
				cuts[1] = b;
				got = stream(&p, texts[i], n, cuts, 2, shown,
				    &hit);
				runs++;
				if (got != want || hit != whit ||
				    memcmp(shown, texts[i], got) != 0)
					bad++;
			}
	}
	ok(bad == 0, "every cut of 5 texts: the text before the first stop "
	    "string, nothing after (%d of %d wrong)", bad, runs);
}

/* Random texts over a small alphabet, so near-misses are common. */
static void
test_random(void)
{
	struct proto_params	p;
	char			t[200], shown[256];
	size_t			cuts[16], n, want, got, k;
	int			hit, whit, bad = 0, trial, hits = 0;
	unsigned		seed = 12345;

	memset(&p, 0, sizeof p);
	add(&p, "abca");
	add(&p, "bb");
	add(&p, "cacacab");
	for (trial = 0; trial < 3000; trial++) {
		n = (size_t)(rand_r(&seed) % 60);
		for (k = 0; k < n; k++)
			t[k] = "abc"[rand_r(&seed) % 3];
		for (k = 0; k < 16; k++)
			cuts[k] = n ? (size_t)rand_r(&seed) % (n + 1) : 0;
		/* Cuts must not go backwards. */
		for (k = 1; k < 16; k++)
			if (cuts[k] < cuts[k - 1])
				cuts[k] = cuts[k - 1];
		want = expect(&p, t, n, &whit);
		got = stream(&p, t, n, cuts, 16, shown, &hit);
		hits += whit;
		if (got != want || hit != whit || memcmp(shown, t, got) != 0)
			bad++;
	}
	ok(bad == 0 && hits > 1000, "3000 random texts in 17 pieces: %d "
	    "wrong (%d with a stop string)", bad, hits);
}

static void
test_none(void)
{
	struct proto_params	p;
	struct stopstr		s;
	char			out[64];

	memset(&p, 0, sizeof p);
	stopstr_init(&s, &p);
	ok(stopstr_feed(&s, "User:", 5, out) == 5 && memcmp(out, "User:",
	    5) == 0 && !s.hit && stopstr_flush(&s, out) == 0,
	    "no stop strings: text passes at once");
}

/* The parameters' encoding: round trip, and what is refused. */
static void
test_proto(void)
{
	struct proto_params	p, q;
	struct proto_buf	b;
	struct proto_rd		r;
	size_t			at;
	int			i;

	memset(&p, 0, sizeof p);
	p.temperature = 0.5f;
	p.max_tokens = 7;
	add(&p, "<|eot_id|>");
	add(&p, "\n用户");
	proto_buf_init(&b);
	proto_params_put(&b, &p);
	proto_rd_init(&r, b.p, b.len);
	memset(&q, 0x55, sizeof q);
	ok(proto_params_get(&r, &q) == 0 && q.n_stop == 2 &&
	    strcmp(q.stop[0], "<|eot_id|>") == 0 && strcmp(q.stop[1],
	    "\n用户") == 0 && q.max_tokens == 7, "stop strings round trip");
	/* Where the first string's bytes are: after n_stop and its length. */
	at = b.len - (4 + strlen("\n用户")) - strlen("<|eot_id|>");
	b.p[at] = 0xff;		/* not UTF-8 */
	proto_rd_init(&r, b.p, b.len);
	ok(proto_params_get(&r, &q) != 0, "a stop string that is not UTF-8 "
	    "is refused");
	proto_buf_free(&b);

	memset(&p, 0, sizeof p);
	for (i = 0; i < PROTO_MAX_STOP; i++)
		add(&p, "x");
	p.n_stop = PROTO_MAX_STOP + 1;
	proto_buf_init(&b);
	proto_params_put(&b, &p);
	proto_rd_init(&r, b.p, b.len);
	ok(proto_params_get(&r, &q) != 0, "more than %d stop strings are "
	    "refused", PROTO_MAX_STOP);
	proto_buf_free(&b);

	memset(&p, 0, sizeof p);
	p.n_stop = 1;
	proto_buf_init(&b);
	proto_params_put(&b, &p);
	proto_rd_init(&r, b.p, b.len);
	ok(proto_params_get(&r, &q) != 0, "an empty stop string is refused");
	proto_buf_free(&b);
}

int
main(void)
{
	test_cuts();
	test_random();
	test_none();
	test_proto();
	return tap_done();
}
