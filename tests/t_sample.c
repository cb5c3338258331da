/*
 * Tests of the sampler: greedy ties, each filter alone on hand-made
 * logits (expected sets worked out from the definitions), the repeat
 * penalty rule, draw frequencies against the softmax, seeding, parameter
 * changes between tokens, and the cost of one sample over 128256 logits.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/tap.h"
#include "engine/sample.h"

#define NDRAW	20000

/* Parameters with every filter off at temperature 1. */
static struct sample_params
plain(void)
{
	struct sample_params	p;

	memset(&p, 0, sizeof p);
	p.temperature = 1.0f;
	p.top_k = 0;
	p.top_p = 1.0f;
	p.min_p = 0.0f;
	p.repeat_penalty = 1.0f;
	p.repeat_last_n = 0;
	p.seed = 1234;
	return p;
}

/* Draw n times from a copy of the logits; count[] gets the histogram. */
static void
draw(struct sampler *s, const float *logits, int nv, long *count, int n)
{
	float	*l = malloc(nv * sizeof *l);
	int	 i, t;

	memset(count, 0, nv * sizeof *count);
	for (i = 0; i < n; i++) {
		memcpy(l, logits, nv * sizeof *l);
		t = sampler_sample(s, l);
		if (t >= 0 && t < nv)
			count[t]++;
	}
	free(l);
}

/* The drawn set is exactly the ids marked in want[] (1 = may appear). */
static int
same_set(const long *count, const int *want, int nv)
{
	int	i;

	for (i = 0; i < nv; i++)
		if ((count[i] > 0) != (want[i] != 0))
			return 0;
	return 1;
}

/* Pearson's statistic of count[] against the probabilities exp[]. */
static double
chi2(const long *count, const double *expect, int nv, int n)
{
	double	x = 0.0, e;
	int	i;

	for (i = 0; i < nv; i++) {
		e = expect[i] * n;
		if (e > 0)
			x += (count[i] - e) * (count[i] - e) / e;
		else if (count[i] != 0)
			return INFINITY;
	}
	return x;
}

static void
test_greedy(void)
{
	struct sample_params	 p = plain();
	struct sampler		*s;
	float			 l[5] = { 1.0f, 3.0f, 3.0f, 2.0f, -1.0f };
	float			 n[4] = { NAN, 0.5f, 0.5f, -2.0f };

	p.temperature = 0.0f;
	s = sampler_new(&p, 5);
	ok(s != NULL, "sampler_new");
	ok(sampler_sample(s, l) == 1, "greedy: tie of ids 1 and 2 gives 1");
	sampler_free(s);
	p.temperature = -1.0f;
	s = sampler_new(&p, 4);
	ok(sampler_sample(s, n) == 1, "greedy: NaN skipped, tie gives 1");
	sampler_free(s);
	ok(sampler_new(&p, 0) == NULL, "n_vocab 0 refused");
}

static void
test_top_k(void)
{
	struct sample_params	 p = plain();
	struct sampler		*s;
	float			 l[5] = { 1.0f, 4.0f, 2.0f, 3.0f, 0.0f };
	long			 c[5];
	int			 w3[5] = { 0, 1, 1, 1, 0 };
	int			 w1[5] = { 0, 1, 0, 0, 0 };
	int			 wall[5] = { 1, 1, 1, 1, 1 };
	/* softmax of logits 4, 3, 2: e^2, e^1, 1 over e^2 + e + 1 */
	double			 z = exp(2.0) + exp(1.0) + 1.0;
	double			 e3[5] = { 0, exp(2.0) / z, 1.0 / z,
				    exp(1.0) / z, 0 };
	double			 x;

	p.top_k = 3;
	s = sampler_new(&p, 5);
	draw(s, l, 5, c, NDRAW);
	ok(same_set(c, w3, 5), "top-k 3 keeps ids 1, 3, 2");
	x = chi2(c, e3, 5, NDRAW);
	ok(x < 13.8, "top-k 3 frequencies match softmax (chi2 %.2f, df 2)",
	    x);
	p.top_k = 1;
	sampler_set_params(s, &p);
	draw(s, l, 5, c, 2000);
	ok(same_set(c, w1, 5), "top-k 1 keeps id 1 only");
	p.top_k = 0;
	sampler_set_params(s, &p);
	draw(s, l, 5, c, 4000);
	ok(same_set(c, wall, 5), "top-k 0 is off");
	p.top_k = 50;
	sampler_set_params(s, &p);
	draw(s, l, 5, c, 4000);
	ok(same_set(c, wall, 5), "top-k above n_vocab keeps all");
	sampler_free(s);
}

static void
test_top_p(void)
{
	struct sample_params	 p = plain();
	struct sampler		*s;
	/* ids 2, 0, 3, 1 have probabilities 0.5, 0.25, 0.15, 0.1 */
	float			 l[4];
	long			 c[4];
	int			 w07[4] = { 1, 0, 1, 0 };
	int			 w08[4] = { 1, 0, 1, 1 };
	int			 w03[4] = { 0, 0, 1, 0 };
	int			 wall[4] = { 1, 1, 1, 1 };
	double			 e08[4] = { 0.25 / 0.9, 0, 0.5 / 0.9,
				    0.15 / 0.9 };
	double			 x;

	l[2] = logf(0.5f);
	l[0] = logf(0.25f);
	l[3] = logf(0.15f);
	l[1] = logf(0.1f);
	p.top_p = 0.7f;		/* 0.5 < 0.7 <= 0.75 */
	s = sampler_new(&p, 4);
	draw(s, l, 4, c, 4000);
	ok(same_set(c, w07, 4), "top-p 0.7 keeps ids 2, 0");
	p.top_p = 0.8f;		/* 0.75 < 0.8 <= 0.9 */
	sampler_set_params(s, &p);
	draw(s, l, 4, c, NDRAW);
	ok(same_set(c, w08, 4), "top-p 0.8 keeps ids 2, 0, 3");
	x = chi2(c, e08, 4, NDRAW);
	ok(x < 13.8, "top-p 0.8 frequencies match (chi2 %.2f, df 2)", x);
	p.top_p = 0.3f;
	sampler_set_params(s, &p);
	draw(s, l, 4, c, 2000);
	ok(same_set(c, w03, 4), "top-p 0.3 keeps id 2 only");
	p.top_p = 0.0f;
	sampler_set_params(s, &p);
	draw(s, l, 4, c, 2000);
	ok(same_set(c, w03, 4), "top-p 0 still keeps one token");
	p.top_p = 1.0f;
	sampler_set_params(s, &p);
	draw(s, l, 4, c, 4000);
	ok(same_set(c, wall, 4), "top-p 1 is off");
	sampler_free(s);
}

static int
cmp_desc(const void *a, const void *b)
{
	float	x = *(const float *)a, y = *(const float *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Top-p over 3000 unsorted tokens with a flat-ish distribution, so the
 * set runs to hundreds of tokens: the expected cut comes from a full sort
 * of the probabilities, as the definition says.
 */
static void
test_top_p_large(void)
{
	enum { NV = 3000 };
	struct sample_params	 p = plain();
	struct sampler		*s;
	float			*l = malloc(NV * sizeof *l);
	float			*sorted = malloc(NV * sizeof *sorted);
	long			*c = malloc(NV * sizeof *c);
	double			 sum = 0.0, cum = 0.0;
	float			 cut = 0.0f;
	int			 i, bad = 0, kept = 0, nbig = 0;

	for (i = 0; i < NV; i++) {
		/* distinct logits in random order */
		l[i] = (float)((i * 7919) % NV) * 0.001f;
		sum += exp(l[i]);
	}
	memcpy(sorted, l, NV * sizeof *l);
	qsort(sorted, NV, sizeof *sorted, cmp_desc);
	for (i = 0; i < NV; i++) {
		cum += exp(sorted[i]) / sum;
		if (cum >= 0.6) {
			cut = sorted[i];
			kept = i + 1;
			break;
		}
	}
	p.top_p = 0.6f;
	p.temperature = 1e-3f;	/* draws stay inside, any survivor will do */
	s = sampler_new(&p, NV);
	draw(s, l, NV, c, 200);
	for (i = 0; i < NV; i++)
		if (c[i] > 0 && l[i] < cut)
			bad++;
	ok(bad == 0 && kept > 256,
	    "top-p 0.6 over 3000 tokens keeps the best %d", kept);
	/* At temperature 1e6 the survivors are near uniform: all of them
	 * should be hit by 25 * kept draws (miss: e^-25), and nothing else. */
	p.temperature = 1e6f;
	sampler_set_params(s, &p);
	draw(s, l, NV, c, 25 * kept);
	bad = 0;
	for (i = 0; i < NV; i++) {
		if ((c[i] > 0) != (l[i] >= cut))
			bad++;
		nbig += l[i] >= cut;
	}
	ok(bad == 0 && nbig == kept, "top-p surviving set is exactly those "
	    "%d (%d mismatches)", kept, bad);
	sampler_free(s);
	free(l);
	free(sorted);
	free(c);
}

static void
test_min_p(void)
{
	struct sample_params	 p = plain();
	struct sampler		*s;
	float			 l[5];
	long			 c[5];
	int			 w02[5] = { 1, 1, 1, 0, 0 };
	int			 w06[5] = { 1, 1, 0, 0, 0 };
	int			 w012[5] = { 1, 1, 1, 1, 0 };
	double			 e02[5] = { 0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9,
				    0, 0 };
	double			 x;

	l[0] = logf(0.4f);
	l[1] = logf(0.3f);
	l[2] = logf(0.2f);
	l[3] = logf(0.06f);
	l[4] = logf(0.04f);
	p.min_p = 0.2f;		/* limit 0.08 */
	s = sampler_new(&p, 5);
	draw(s, l, 5, c, NDRAW);
	ok(same_set(c, w02, 5), "min-p 0.2 keeps p >= 0.08: ids 0, 1, 2");
	x = chi2(c, e02, 5, NDRAW);
	ok(x < 13.8, "min-p 0.2 frequencies match (chi2 %.2f, df 2)", x);
	p.min_p = 0.6f;		/* limit 0.24 */
	sampler_set_params(s, &p);
	draw(s, l, 5, c, 4000);
	ok(same_set(c, w06, 5), "min-p 0.6 keeps ids 0, 1");
	p.min_p = 0.12f;	/* limit 0.048 */
	sampler_set_params(s, &p);
	draw(s, l, 5, c, 8000);
	ok(same_set(c, w012, 5), "min-p 0.12 keeps ids 0-3");
	sampler_free(s);
}

static void
test_temperature(void)
{
	struct sample_params	 p = plain();
	struct sampler		*s;
	float			 l[2] = { 0.0f, logf(2.0f) };
	long			 c[2];
	double			 e1[2] = { 1.0 / 3, 2.0 / 3 };
	double			 e05[2] = { 1.0 / 5, 4.0 / 5 };
	double			 r = sqrt(2.0);
	double			 e2[2] = { 1 / (1 + r), r / (1 + r) };
	double			 x;

	s = sampler_new(&p, 2);
	draw(s, l, 2, c, NDRAW);
	x = chi2(c, e1, 2, NDRAW);
	ok(x < 10.83, "temperature 1: 1/3, 2/3 (chi2 %.2f, df 1)", x);
	p.temperature = 0.5f;
	sampler_set_params(s, &p);
	draw(s, l, 2, c, NDRAW);
	x = chi2(c, e05, 2, NDRAW);
	ok(x < 10.83, "temperature 0.5: 1/5, 4/5 (chi2 %.2f)", x);
	p.temperature = 2.0f;
	sampler_set_params(s, &p);
	draw(s, l, 2, c, NDRAW);
	x = chi2(c, e2, 2, NDRAW);
	ok(x < 10.83, "temperature 2: 1/(1+sqrt2) (chi2 %.2f)", x);
	sampler_free(s);
}

static void
test_penalty(void)
{
	struct sample_params	 p = plain();
	struct sampler		*s;
	float			 l[5];

	p.temperature = 0.0f;
	p.repeat_penalty = 2.0f;
	p.repeat_last_n = 64;
	s = sampler_new(&p, 5);
	sampler_accept(s, 0);
	sampler_accept(s, 1);
	sampler_accept(s, 0);
	sampler_accept(s, 4);
	sampler_accept(s, 99);	/* out of range: ignored */
	sampler_accept(s, -1);
	l[0] = 3.0f; l[1] = -2.0f; l[2] = 2.0f; l[3] = 0.5f; l[4] = 0.0f;
	ok(sampler_sample(s, l) == 2, "penalised 3.0 falls below 2.0");
	ok(l[0] == 1.5f, "positive logit divided once despite two uses "
	    "(%g)", l[0]);
	ok(l[1] == -4.0f, "negative logit multiplied (%g)", l[1]);
	ok(l[4] == 0.0f && l[2] == 2.0f && l[3] == 0.5f,
	    "zero stays zero, unseen tokens untouched");

	p.repeat_last_n = 2;	/* window: 0, 4 */
	sampler_set_params(s, &p);
	l[0] = 3.0f; l[1] = -2.0f; l[2] = 2.0f; l[3] = 0.5f; l[4] = 1.0f;
	sampler_sample(s, l);
	ok(l[0] == 1.5f && l[1] == -2.0f && l[4] == 0.5f,
	    "last_n 2 penalises only the last two tokens");
	p.repeat_last_n = -1;
	sampler_set_params(s, &p);
	l[0] = 3.0f; l[1] = -2.0f; l[4] = 1.0f;
	sampler_sample(s, l);
	ok(l[0] == 1.5f && l[1] == -4.0f && l[4] == 0.5f,
	    "last_n -1 penalises every accepted token");
	p.repeat_last_n = 0;
	sampler_set_params(s, &p);
	l[0] = 3.0f; l[1] = -2.0f;
	sampler_sample(s, l);
	ok(l[0] == 3.0f && l[1] == -2.0f, "last_n 0 is off");
	p.repeat_last_n = 64;
	p.repeat_penalty = 1.0f;
	sampler_set_params(s, &p);
	sampler_sample(s, l);
	ok(l[0] == 3.0f && l[1] == -2.0f, "penalty 1 is off");
	p.repeat_penalty = 2.0f;
	sampler_set_params(s, &p);
	sampler_reset(s);
	sampler_sample(s, l);
	ok(l[0] == 3.0f && l[1] == -2.0f, "reset forgets the history");
	sampler_free(s);
}

static void
sequence(struct sampler *s, const float *l, int nv, int32_t *out, int n)
{
	float	*t = malloc(nv * sizeof *t);
	int	 i;

	for (i = 0; i < n; i++) {
		memcpy(t, l, nv * sizeof *t);
		out[i] = sampler_sample(s, t);
	}
	free(t);
}

static void
test_seed(void)
{
	enum { NV = 1000, N = 200 };
	struct sample_params	 p = plain();
	struct sampler		*a, *b;
	float			 l[NV];
	int32_t			 x[N], y[N];
	int			 i;

	for (i = 0; i < NV; i++)
		l[i] = (float)(i % 17) * 0.01f;
	p.seed = 42;
	a = sampler_new(&p, NV);
	b = sampler_new(&p, NV);
	sequence(a, l, NV, x, N);
	sequence(b, l, NV, y, N);
	ok(memcmp(x, y, sizeof x) == 0, "same seed, same sequence");
	sampler_free(b);
	p.seed = 43;
	b = sampler_new(&p, NV);
	sequence(b, l, NV, y, N);
	ok(memcmp(x, y, sizeof x) != 0, "different seed, other sequence");

	/* a changed seed reseeds: a continues exactly like a fresh b */
	sampler_set_params(a, &p);
	sampler_free(b);
	b = sampler_new(&p, NV);
	sequence(a, l, NV, x, N);
	sequence(b, l, NV, y, N);
	ok(memcmp(x, y, sizeof x) == 0, "set_params with a new seed reseeds");
	/* the same seed again does not restart the stream */
	p.temperature = 0.9f;
	sampler_set_params(a, &p);
	sampler_free(b);
	b = sampler_new(&p, NV);
	sequence(a, l, NV, x, N);
	sequence(b, l, NV, y, N);
	ok(memcmp(x, y, sizeof x) != 0, "same seed keeps the stream going");
	sampler_free(a);
	sampler_free(b);
}

static void
test_switch(void)
{
	enum { NV = 100 };
	struct sample_params	 p = plain();
	const struct sample_params *q;
	struct sampler		*s;
	float			 l[NV], t[NV];
	int			 i, nonmax = 0, allmax = 1;

	for (i = 0; i < NV; i++)
		l[i] = (float)(i % 10) * 0.1f;	/* max 0.9 first at id 9 */
	s = sampler_new(&p, NV);
	for (i = 0; i < 50; i++) {
		memcpy(t, l, sizeof t);
		nonmax += sampler_sample(s, t) != 9;
	}
	ok(nonmax > 0, "temperature 1 draws other tokens (%d of 50)", nonmax);
	p.temperature = 0.0f;
	sampler_set_params(s, &p);
	q = sampler_params(s);
	ok(q->temperature == 0.0f, "sampler_params reports the change");
	for (i = 0; i < 20; i++) {
		memcpy(t, l, sizeof t);
		allmax &= sampler_sample(s, t) == 9;
	}
	ok(allmax, "temperature 0 from the next call: argmax id 9");
	sampler_free(s);
}

static double
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
bench(const char *what, struct sample_params *p)
{
	enum { NV = 128256, N = 100 };
	struct sampler	*s;
	float		*l = malloc(NV * sizeof *l);
	float		*t = malloc(NV * sizeof *t);
	double		 t0, us, worst = 0;
	int		 i, j;
	uint64_t	 x = 88172645463325252ULL;

	for (i = 0; i < NV; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		l[i] = (float)((x >> 11) * (1.0 / 9007199254740992.0)) *
		    20.0f - 10.0f;
	}
	s = sampler_new(p, NV);
	for (i = 0; i < 64; i++)
		sampler_accept(s, (int32_t)((i * 2003) % NV));
	t0 = now_us();
	for (j = 0; j < N; j++) {
		double	t1 = now_us();

		memcpy(t, l, NV * sizeof *t);
		sampler_accept(s, sampler_sample(s, t));
		if (now_us() - t1 > worst)
			worst = now_us() - t1;
	}
	us = (now_us() - t0) / N;
	diag("%s: %.1f us per sample over 128256 logits (worst %.0f us)",
	    what, us, worst);
	ok(us < 20000, "%s: under 20 ms per sample", what);
	sampler_free(s);
	free(l);
	free(t);
}

int
main(void)
{
	struct sample_params	p;

	sample_params_default(&p);
	ok(p.temperature == 0.2f && p.top_k == 40 && p.top_p == 0.9f &&
	    p.min_p == 0.0f && p.repeat_penalty == 1.1f &&
	    p.repeat_last_n == 64, "defaults are the seed's");
	test_greedy();
	test_top_k();
	test_top_p();
	test_top_p_large();
	test_min_p();
	test_temperature();
	test_penalty();
	test_seed();
	test_switch();
	sample_params_default(&p);
	p.seed = 5;
	bench("defaults (top-k 40)", &p);
	p.top_k = 0;
	bench("top-k off, top-p 0.9", &p);
	p.top_p = 1.0f;
	p.temperature = 0.8f;
	bench("no filters, temperature 0.8", &p);
	p.temperature = 0.0f;
	bench("greedy", &p);
	return tap_done();
}
